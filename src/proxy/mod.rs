//! The proxy: the only place that touches hyper. `Proxy::start` runs it in-process: the
//! listener (`server.rs`) hands each request to `handler.rs`, which tells the story of one
//! exchange and calls one file per chapter. This file holds the run's state, with the mode as
//! a type ([`Run`]: the compiler points at every place a new mode must be handled). The map of
//! the files is in the crate's documentation (`src/lib.rs`).

mod control;
mod drain;
mod exchange;
mod faults;
mod forward;
mod handler;
mod heads;
mod http;
pub mod intercept;
mod oauth;
pub mod occurrences;
mod origin;
mod read;
mod replay;
pub mod respond;
mod scopes;
mod server;
pub mod summary;
pub mod upstream;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{Limits, Mode, ServeConfig};
use crate::error::{Error, Result};
use crate::keying::scope::Scope;
use crate::proxy::occurrences::Occurrences;
use crate::proxy::summary::{Counts, Outcome, ScopeTallies, Summary};
use crate::proxy::upstream::sign::Signer;
use crate::rewrite::Pipeline;
use crate::store::{ReplayIndex, Store};
use upstream::{Target, Upstream};

/// Marks a request that arrived inside an intercepted tunnel, with the host the client asked for.
#[derive(Debug, Clone)]
pub(crate) struct InterceptedHost(pub String);

/// What this run does with each call, with what that needs: the compiler points at every place
/// a new mode must be handled.
pub(crate) enum Run {
    /// Answer from the recording alone (the cassette, through its index); never connect upstream.
    Replay { recorded: ReplayIndex },
    /// Answer what is recorded; forward and record the rest.
    Auto { store: Store, upstream: Upstream },
    /// Forward every call and record it: the cassette becomes this session.
    Record { store: Store, upstream: Upstream },
    /// Forward only; store nothing.
    Passthrough { upstream: Upstream },
}

impl Run {
    /// Build what `config.mode` needs: the upstream client first (a bad upstream fails before
    /// a long import), then the store.
    async fn open(config: &ServeConfig) -> Result<Run> {
        Ok(match config.mode {
            Mode::Replay => Run::Replay {
                recorded: open_recorded(config).await?,
            },
            Mode::Auto => Run::Auto {
                upstream: open_upstream(config).await?,
                store: open_store(config, false).await?,
            },
            Mode::Record => Run::Record {
                upstream: open_upstream(config).await?,
                store: open_store(config, true).await?,
            },
            Mode::Passthrough => Run::Passthrough {
                upstream: open_upstream(config).await?,
            },
        })
    }

    fn mode(&self) -> Mode {
        match self {
            Run::Replay { .. } => Mode::Replay,
            Run::Auto { .. } => Mode::Auto,
            Run::Record { .. } => Mode::Record,
            Run::Passthrough { .. } => Mode::Passthrough,
        }
    }
}

/// The upstream client, re-signing where the client's own signature cannot work.
async fn open_upstream(config: &ServeConfig) -> Result<Upstream> {
    let target = Target::parse(config.upstream.as_deref(), config.region.clone())?;
    // Towards AWS the client's signature (made for this proxy's address) cannot work.
    // Intercepted calls keep the client's own signature: no credentials needed.
    let resign = config.resign || (target.is_aws() && config.intercept.is_none());
    let signer = match (&config.credentials, resign) {
        (_, false) => None,
        (Some(fixed), true) => Some(Signer::fixed(fixed.clone())),
        (None, true) => Some(Signer::from_environment().await?),
    };
    let intercept_upstream = config.intercept.as_ref().and_then(|i| i.upstream.clone());
    Ok(
        Upstream::new(target, config.upstream_ca.as_deref(), signer)?
            .with_intercept_upstream(intercept_upstream)
            .with_oauth_domain(config.oauth_domain.clone())
            .with_timeout(config.limits.upstream_timeout),
    )
}

/// Open the store, importing or recovering as needed: off the async workers, since a large
/// cassette takes a while. `for_record`: a cassette of an older version is replaced.
async fn open_store(config: &ServeConfig, for_record: bool) -> Result<Store> {
    let (cassette, dir) = (config.cassette.clone(), config.store_dir());
    let rules = config.settings.rules.clone();
    let max_age = config.max_age;
    blocking(move || {
        let (mut store, opened) = match for_record {
            true => Store::open_for_record(&cassette, &dir, &rules)?,
            false => Store::open(&cassette, &dir, &rules)?,
        };
        tracing::debug!(?opened, cassette = %cassette.display(), "store opened");
        store.refresh_dates_after(max_age);
        Ok(store)
    })
    .await
}

/// What replay reads: the cassette's index, after writing into the cassette what an unclean
/// stop left in the store.
async fn open_recorded(config: &ServeConfig) -> Result<ReplayIndex> {
    let (cassette, dir, index) = (
        config.cassette.clone(),
        config.store_dir(),
        config.index_path(),
    );
    let rules = config.settings.rules.clone();
    let (max_age, strict) = (config.max_age, config.strict);
    blocking(move || {
        if Store::recover(&cassette, &dir, &rules)? {
            tracing::info!(cassette = %cassette.display(), "recordings of an unclean stop written into the cassette");
        }
        let recorded = ReplayIndex::open(&cassette, &index, &rules)?;
        if let Some(max_age) = max_age {
            check_age(&cassette, &recorded, max_age, strict)?;
        }
        Ok(recorded)
    })
    .await
}

/// Warn of the scopes recorded longer ago than `max_age`; with `strict`, refuse to start.
fn check_age(
    cassette: &std::path::Path,
    recorded: &ReplayIndex,
    max_age: std::time::Duration,
    strict: bool,
) -> Result<()> {
    use crate::cassette::dates;
    let read = dates::read_file(cassette).map_err(|source| Error::ReadCassette {
        path: cassette.into(),
        source,
    })?;
    let scopes: Vec<String> = recorded.scopes().iter().map(dates::key).collect();
    let (aged, undated) = dates::ages(&read, &scopes, dates::now());
    let limit = (max_age.as_secs() / 86_400) as i64;
    let old: Vec<(String, i64)> = aged.into_iter().filter(|(_, days)| *days > limit).collect();
    if !undated.is_empty() {
        tracing::warn!(
            cassette = %cassette.display(),
            "{} scope(s) have no recording date (recorded before cognito-vcr kept dates) or one in the future: their age is unknown until they are re-recorded",
            undated.len()
        );
    }
    if old.is_empty() {
        return Ok(());
    }
    let message = dates::too_old(cassette, &old, max_age);
    if strict {
        return Err(Error::TooOld(message));
    }
    tracing::warn!("{message}");
    Ok(())
}

/// Run blocking work on tokio's blocking pool; a panic there carries on as this task's panic.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Run blocking work where the runtime allows it without stalling other tasks: on a multi-thread
/// runtime the worker hands its other tasks over first; elsewhere (a test's current-thread
/// runtime) it simply runs.
fn off_workers<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// Everything the exchanges of one run share.
pub(crate) struct State {
    run: Run,
    strict: bool,
    max_body: usize,
    limits: Limits,
    record_server_errors: bool,
    cassette: PathBuf,
    occurrences: Occurrences,
    counts: Counts,
    /// Outcomes per named scope since its last reset, with the miss messages.
    tallies: ScopeTallies,
    /// The scopes requests named, reused from one request to the next.
    scope_names: scopes::ScopeNames,
    /// Tokens, redaction and masking: what is stored and keyed.
    pipeline: Pipeline,
    /// The hosts requests may name (and no web page's requests).
    hosts: origin::Hosts,
    /// Set when the listener is also an HTTPS_PROXY (CONNECT) proxy.
    interceptor: Option<intercept::Interceptor>,
    /// Record mode: the scopes started in this run (see [`State::start_scope`]).
    started: Mutex<HashSet<Scope>>,
    /// Answers already served, ready to send again.
    answers: replay::cache::AnswerCache,
    /// Replay only: request keys by the exact request bytes.
    keys: replay::memo::KeyMemo,
    /// Replay, not strict: listings served at page sizes they were not recorded at.
    repager: Option<replay::repage::Repager>,
    /// Replay and auto: signs the placeholder JWTs handed out, serves the JWKS.
    signer: Option<crate::proxy::replay::token_signer::TokenSigner>,
    /// Fault rules of the config file; `None` without any (and in record mode).
    faults: Option<faults::Faults>,
    /// The memory for request bodies held at once (`--body-budget`).
    body_budget: read::BodyBudget,
    /// Replay and auto: how long a recorded answer takes (`--latency`).
    latency: crate::config::Latency,
    /// Record and auto: keep how long the upstream took (see `ServeConfig::record_latency`).
    record_latency: bool,
    /// The listener speaks HTTPS (what a discovery document names it with).
    tls: bool,
}

impl State {
    fn new(config: &ServeConfig, run: Run, addr: SocketAddr) -> Result<State> {
        let interceptor = match &config.intercept {
            Some(i) => Some(intercept::Interceptor::new(
                crate::tls::LocalCa::open(&i.ca_dir)?,
                i.allow.clone(),
            )),
            None => None,
        };
        Ok(State {
            strict: config.strict,
            latency: config.latency,
            record_latency: config.record_latency.unwrap_or(match &run {
                Run::Record { upstream, .. } | Run::Auto { upstream, .. } => upstream.is_aws(),
                _ => false,
            }),
            max_body: config.max_body,
            limits: config.limits,
            record_server_errors: config.record_server_errors,
            cassette: config.cassette.clone(),
            occurrences: Occurrences::default(),
            counts: Counts::default(),
            tallies: ScopeTallies::default(),
            scope_names: scopes::ScopeNames::default(),
            started: Mutex::default(),
            pipeline: Pipeline::new(&config.settings),
            hosts: origin::Hosts::new(addr, &config.host_names),
            interceptor,
            answers: replay::cache::AnswerCache::new(
                config.latency != crate::config::Latency::None,
            ),
            keys: replay::memo::KeyMemo::default(),
            repager: (config.repage && !config.strict).then(replay::repage::Repager::default),
            signer: match (&run, &config.token_keys) {
                (Run::Replay { .. } | Run::Auto { .. }, Some(dir)) => Some(
                    crate::proxy::replay::token_signer::TokenSigner::new(dir, config.token_times),
                ),
                _ => None,
            },
            run,
            faults: faults::Faults::new(config)?,
            body_budget: read::BodyBudget::new(config.limits.body_budget),
            tls: config.tls.is_some(),
        })
    }

    /// Replay and auto hand out tokens the proxy signs (or none signed): their JWKS is the
    /// proxy's own. Record and passthrough hand out the upstream's: its JWKS is forwarded.
    fn serves_own_jwks(&self) -> bool {
        matches!(self.run, Run::Replay { .. } | Run::Auto { .. })
    }

    /// Record mode: the first recording of a scope in this run drops what the scope held, so
    /// that recording a scope again replaces that scope's interactions only.
    fn start_scope(&self, store: &Store, scope: &Scope) -> Result<()> {
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        if started.insert(scope.clone()) {
            store.clear_scope(scope)?;
        }
        Ok(())
    }

    /// The control call: start `scope` over (its counters; in record mode its interactions).
    fn reset(&self, scope: &Scope) {
        // Both under one lock: a recording cannot start the scope between the two.
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        self.occurrences.reset(scope);
        self.tallies.reset(scope);
        if let Some(faults) = &self.faults {
            faults.reset(scope);
        }
        started.remove(scope);
    }

    /// After the last exchange: write the cassette if this run recorded, and sum up.
    fn finish(&self) -> Result<Summary> {
        let mut summary = self.summary();
        let store = match &self.run {
            Run::Record { store, .. } | Run::Auto { store, .. } => store,
            Run::Passthrough { .. } | Run::Replay { .. } => return Ok(summary),
        };
        // A record run that recorded nothing still leaves a cassette (empty), so that the
        // replay that follows says what it misses instead of that the file does not exist.
        let first_record = matches!(self.run, Run::Record { .. }) && !self.cassette.exists();
        if store.is_dirty() || first_record {
            summary.exported = Some(store.export_or_explain()?);
        }
        Ok(summary)
    }

    /// What the run did so far.
    fn summary(&self) -> Summary {
        let c = &self.counts;
        let mut summary = Summary {
            mode: self.run.mode().as_str(),
            recorded: c.counted(Outcome::Recorded),
            replayed: c.counted(Outcome::Hit),
            misses: c.counted(Outcome::Miss),
            forwarded: c.counted(Outcome::Forwarded),
            rejected: c.counted(Outcome::Rejected),
            failed: c.counted(Outcome::Failed),
            injected: c.counted(Outcome::Injected),
            unused: None,
            exported: None,
            strict: self.strict,
        };
        let seen = self.occurrences.requests_seen();
        // Recorded occurrences served: of each request, as many as were recorded at most.
        let served = |recorded: &dyn Fn(&crate::keying::key::RequestKey) -> usize| -> usize {
            seen.iter()
                .map(|(key, seen)| recorded(key).min(*seen as usize))
                .sum()
        };
        let (served, total) = match &self.run {
            Run::Passthrough { .. } | Run::Record { .. } => return summary,
            Run::Replay { recorded } => (served(&|k| recorded.occurrences(k)), recorded.len()),
            Run::Auto { store, .. } => (served(&|k| store.occurrences(k)), store.len()),
        };
        summary.unused = Some(total.saturating_sub(served) as u64);
        summary
    }
}

/// A running proxy. Dropping it starts a graceful stop; [`Proxy::stop`] waits for it and
/// returns the run's summary.
///
/// ```no_run
/// # async fn demo() -> Result<(), cognito_vcr::Error> {
/// use cognito_vcr::{Mode, Proxy, ServeConfig};
/// let proxy = Proxy::start(ServeConfig::new(Mode::Replay, "cassettes/demo.json")).await?;
/// // Point the SDK at it: AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=<proxy.url()>
/// println!("serving on {}", proxy.url());
/// let summary = proxy.stop().await?;
/// assert_eq!(summary.misses, 0);
/// # Ok(()) }
/// ```
pub struct Proxy {
    addr: SocketAddr,
    scheme: &'static str,
    /// The CA clients should trust (automatic TLS).
    ca: Option<PathBuf>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<Summary>>>,
}

impl Proxy {
    /// Open the cassette and store, bind `config.listen` and start serving in the background.
    pub async fn start(config: ServeConfig) -> Result<Proxy> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Listen {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Listen {
            addr: config.listen,
            source,
        })?;
        let run = Run::open(&config).await?;
        let tls = config.tls.as_ref().map(crate::tls::listener).transpose()?;
        let state = blocking(move || State::new(&config, run, addr)).await?;
        let state = Arc::new(state);
        let (stop, stopped) = oneshot::channel::<()>();
        let ca = tls.as_ref().and_then(|t| t.ca.clone());
        let scheme = if tls.is_some() { "https" } else { "http" };
        let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.config));
        let task = tokio::spawn(async move {
            server::run(listener, state.clone(), acceptor, async {
                let _ = stopped.await;
            })
            .await;
            blocking(move || state.finish()).await
        });
        Ok(Proxy {
            addr,
            scheme,
            ca,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL to give clients, e.g. `http://127.0.0.1:41234` (`https://` with TLS).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// With automatic TLS: the CA certificate clients should trust (`AWS_CA_BUNDLE`).
    pub fn ca(&self) -> Option<&std::path::Path> {
        self.ca.as_deref()
    }

    /// Stop accepting, let in-flight exchanges finish, write the cassette if this run recorded,
    /// and return the summary.
    pub async fn stop(mut self) -> Result<Summary> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(task) = self.task.take() else {
            unreachable!("`stop` takes the proxy by value and is the only taker of its task")
        };
        match task.await {
            Ok(summary) => summary,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;

    /// The demo cassette's interactions.
    pub(crate) const DEMO_INTERACTIONS: u64 = 55;

    /// The state of a replay run of a copy of `cassettes/demo.json` in `dir`, as
    /// [`Proxy::start`] builds it for a listener on loopback (no listener, no store to recover).
    pub(crate) fn replay_state(dir: &Path) -> State {
        let cassette = dir.join("demo.json");
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes/demo.json");
        std::fs::copy(demo, &cassette).unwrap();
        let config = ServeConfig::new(Mode::Replay, &cassette);
        let rules = &config.settings.rules;
        let recorded = ReplayIndex::open(&cassette, &config.index_path(), rules).unwrap();
        State::new(&config, Run::Replay { recorded }, config.listen).unwrap()
    }

    #[test]
    fn a_replay_run_starts_with_the_whole_cassette_unused() {
        let dir = tempfile::tempdir().unwrap();
        let state = replay_state(dir.path());
        let summary = state.summary();
        assert_eq!(summary.mode, "replay");
        assert_eq!(summary.unused, Some(DEMO_INTERACTIONS));
        assert_eq!(summary.replayed + summary.misses, 0);
        // Nothing to write back: a replay run leaves the cassette as it was.
        assert_eq!(state.finish().unwrap().exported, None);
    }
}
