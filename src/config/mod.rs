//! Validated settings the library receives (the library never sees clap types).

pub mod faults;
pub mod file;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::file::Settings;

/// What the proxy does with each call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward every call upstream and record it; the cassette becomes this session.
    Record,
    /// Answer from the cassette alone; never open a connection upstream.
    Replay,
    /// Answer what is recorded; forward and record what is not.
    Auto,
    /// Forward only; store nothing.
    Passthrough,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Record => "record",
            Mode::Replay => "replay",
            Mode::Auto => "auto",
            Mode::Passthrough => "passthrough",
        }
    }
}

/// Default limit on a request body (Cognito's own requests are far smaller).
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
/// Request bodies held at once, by default: Cognito's requests are a few KB.
pub const DEFAULT_BODY_BUDGET: usize = 256 * 1024 * 1024;

/// How long clients and the upstream may take, and how many connections may be open at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A client's request headers must arrive within this, counted from the connection's start
    /// or its last answer: it is also how long an idle HTTP/1.1 keep-alive connection stays open.
    /// Checked four times per timeout: a connection is closed within 1.25 timeouts.
    pub header_timeout: Duration,
    /// A request body must arrive within this once its headers have.
    pub body_timeout: Duration,
    /// A TLS client must finish its handshake within this.
    pub handshake_timeout: Duration,
    /// Connections open at once; more wait to be accepted (keep it under `ulimit -n`).
    pub max_connections: usize,
    /// One upstream call, from sending to the last byte of the answer.
    pub upstream_timeout: Duration,
    /// Request bodies held in memory at once, over every connection and HTTP/2 stream, in bytes:
    /// past it a request waits for room (for the body timeout at most, then a 503).
    pub body_budget: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            max_connections: 512,
            upstream_timeout: Duration::from_secs(60),
            body_budget: DEFAULT_BODY_BUDGET,
        }
    }
}

/// Settings for one proxy run.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub mode: Mode,
    pub cassette: PathBuf,
    /// The sled store; `None` = the default place beside the cassette (see [`default_store`]).
    pub store: Option<PathBuf>,
    /// Base URL of the upstream (`http://127.0.0.1:5000`); `None` or `aws` = the real Cognito,
    /// by region.
    pub upstream: Option<String>,
    pub listen: SocketAddr,
    /// Host names the proxy answers to besides loopback names and its own address (when it
    /// listens beyond loopback; see `proxy/origin.rs`).
    pub host_names: Vec<String>,
    /// Replay: a call past the last recorded occurrence is a miss instead of repeating the last.
    pub strict: bool,
    pub max_body: usize,
    /// Timeouts and the connection cap.
    pub limits: Limits,
    /// Also record upstream 5xx and throttling answers (normally passed through unrecorded).
    pub record_server_errors: bool,
    /// Keying rules and secret fields (defaults, or the config file's).
    pub settings: Settings,
    /// Region for calls towards AWS that name none (no SigV4 scope, no UserPoolId).
    pub region: Option<String>,
    /// More CAs to trust for an https upstream (PEM).
    pub upstream_ca: Option<PathBuf>,
    /// Recording from AWS: the user pool's domain, where its OAuth2 endpoints are.
    pub oauth_domain: Option<String>,
    /// Re-sign towards a non-AWS upstream too (towards AWS it always happens).
    pub resign: bool,
    /// Serve TLS on the listener.
    pub tls: Option<TlsSource>,
    /// Re-sign with these credentials instead of the standard AWS chain (tests, embedders).
    pub credentials: Option<aws_credential_types::Credentials>,
    /// Also act as an HTTPS_PROXY (CONNECT) proxy that intercepts Cognito.
    pub intercept: Option<InterceptConfig>,
    /// Replay and auto: sign the placeholder JWTs handed out with the key in this directory
    /// and serve its JWKS; `None` (the library's default; the command line's is the state
    /// directory) hands them out unsigned.
    pub token_keys: Option<PathBuf>,
    /// The times a signed token carries.
    pub token_times: TokenTimes,
    /// Replay (not strict): serve a recorded listing at a page size it was not recorded at.
    pub repage: bool,
    /// Replay: warn of scopes recorded longer ago than this (strict: refuse to start); record
    /// and auto: an unchanged scope recorded longer ago than this is dated today.
    pub max_age: Option<std::time::Duration>,
    /// Replay and auto: answer from the recording after its recorded latency (scaled), or at
    /// once (the default).
    pub latency: Latency,
    /// Record and auto: keep each call's latency class (50 ms or more) in the cassette; `None`
    /// (the default) keeps it from the real Cognito only (a local upstream's timing is noise).
    pub record_latency: Option<bool>,
}

/// Which `iat` / `auth_time` / `exp` a signed token carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TokenTimes {
    /// As stored: issued in 2023, expiring in 2100.
    #[default]
    Recorded,
    /// Issued now, valid for an hour (for apps that reject an old `iat`).
    Now,
}

/// HTTPS_PROXY interception settings.
#[derive(Debug, Clone, Default)]
pub struct InterceptConfig {
    /// Where the CA that mints the intercepted hosts' certificates lives.
    pub ca_dir: PathBuf,
    /// `host:port` tunnelled without interception; everything else but Cognito is refused.
    pub allow: Vec<String>,
    /// Send intercepted calls here instead of the real host (private endpoints, tests).
    pub upstream: Option<String>,
}

impl ServeConfig {
    /// A configuration with the defaults: listen on `127.0.0.1:0`, 1 MiB body limit.
    pub fn new(mode: Mode, cassette: impl Into<PathBuf>) -> Self {
        ServeConfig {
            mode,
            cassette: cassette.into(),
            store: None,
            upstream: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            host_names: Vec::new(),
            strict: false,
            max_body: DEFAULT_MAX_BODY,
            limits: Limits::default(),
            record_server_errors: false,
            settings: Settings::default(),
            region: None,
            upstream_ca: None,
            oauth_domain: None,
            resign: false,
            tls: None,
            credentials: None,
            intercept: None,
            token_keys: None,
            token_times: TokenTimes::Recorded,
            repage: true,
            max_age: None,
            latency: Default::default(),
            record_latency: None,
        }
    }

    pub fn with_upstream(mut self, url: impl Into<String>) -> Self {
        self.upstream = Some(url.into());
        self
    }

    pub fn with_store(mut self, dir: impl Into<PathBuf>) -> Self {
        self.store = Some(dir.into());
        self
    }

    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    pub fn store_dir(&self) -> PathBuf {
        self.store
            .clone()
            .unwrap_or_else(|| default_store(&self.cassette))
    }

    /// The replay index of the cassette, beside its store: `.cognito-vcr/NAME.index` for the
    /// default `NAME.sled`, `STORE.index` for any other.
    pub fn index_path(&self) -> PathBuf {
        let store = self.store_dir();
        if store.extension().is_some_and(|e| e == "sled") {
            return store.with_extension("index");
        }
        crate::files::with_suffix(&store, ".index")
    }
}

/// The live store of `cassettes/NAME.json` is `cassettes/.cognito-vcr/NAME.sled`: beside the
/// cassette so that each cassette has its own, hidden so that it is easy to git-ignore.
pub fn default_store(cassette: &Path) -> PathBuf {
    let dir = cassette.parent().unwrap_or_else(|| Path::new("."));
    let stem = cassette
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cassette".into());
    dir.join(".cognito-vcr").join(format!("{stem}.sled"))
}

/// Where the listener's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
    /// A local CA and leaf kept in this directory (made on first use).
    Auto {
        dir: PathBuf,
    },
}

/// The default state directory: `$XDG_STATE_HOME/cognito-vcr`, else `~/.local/state/cognito-vcr`.
pub fn default_state_dir() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("cognito-vcr")
}

/// With `CI=true` (or `1`), a mode that reaches the upstream must be asked for on the command
/// line, not come from the environment or a default: a CI job never calls the real Cognito by
/// accident. `on_command_line`: the mode was given as a flag.
pub fn check_ci(mode: Mode, on_command_line: bool, ci: Option<&str>) -> Result<(), String> {
    let in_ci = ci.is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    if !in_ci || mode == Mode::Replay || on_command_line {
        return Ok(());
    }
    Err(format!(
        "CI is set: {} mode calls the upstream, so it must be asked for on the command line (--mode {0}), not through COGNITO_VCR_MODE; replay is the mode in CI",
        mode.as_str()
    ))
}

/// A `--max-age`: `90d` (days), `12w` (weeks) or a number of days.
pub fn parse_max_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.strip_suffix('d') {
        Some(n) => (n, 1),
        None => match text.strip_suffix('w') {
            Some(n) => (n, 7),
            None => (text, 1),
        },
    };
    // At most a hundred years: past that nothing recorded is old.
    match number.parse::<u64>() {
        Ok(n) if n > 0 && n * unit <= 36_500 => Ok(Duration::from_secs(n * unit * 86_400)),
        _ => Err(format!(
            "{text:?} is not an age: a number of days up to a hundred years, as 90d or 12w"
        )),
    }
}

/// An age as the user wrote it: `90d`.
pub fn show_age(age: Duration) -> String {
    format!("{}d", age.as_secs() / 86_400)
}

/// How replay times its answers (`--latency`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Latency {
    /// At once (the default).
    #[default]
    None,
    /// After the recorded latency times this factor (`recorded` is 1).
    Scaled(f64),
}

impl Latency {
    /// `none`, `recorded`, or a factor such as `0.5` or `2`.
    pub fn parse(text: &str) -> Result<Latency, String> {
        match text.trim() {
            "none" => Ok(Latency::None),
            "recorded" => Ok(Latency::Scaled(1.0)),
            other => match other.parse::<f64>() {
                Ok(f) if (0.0..=MAX_LATENCY_FACTOR).contains(&f) => Ok(Latency::Scaled(f)),
                _ => Err(format!(
                    "{other:?}: none, recorded, or a factor of the recorded latency from 0 to {MAX_LATENCY_FACTOR} (0.5, 2)"
                )),
            },
        }
    }

    /// How long to wait before an answer recorded with latency class `ms`.
    pub fn delay(self, ms: u32) -> Option<Duration> {
        match self {
            Latency::None => None,
            Latency::Scaled(f) => Duration::try_from_secs_f64(f64::from(ms) / 1000.0 * f).ok(),
        }
    }
}

/// The largest `--latency` factor: a recorded 100 s (the largest class) then waits an hour at most.
pub const MAX_LATENCY_FACTOR: f64 = 36.0;

#[cfg(test)]
mod tests {
    use super::{check_ci, parse_max_age, Latency, Mode};
    use std::time::Duration;

    #[test]
    fn the_replay_index_sits_beside_the_store() {
        let config = super::ServeConfig::new(Mode::Replay, "cassettes/demo.json");
        assert_eq!(
            config.index_path(),
            std::path::Path::new("cassettes/.cognito-vcr/demo.index")
        );
        let a = super::ServeConfig::new(Mode::Replay, "a.json").with_store("/tmp/st.v1");
        let b = super::ServeConfig::new(Mode::Replay, "b.json").with_store("/tmp/st.v2");
        assert_eq!(a.index_path(), std::path::Path::new("/tmp/st.v1.index"));
        assert_ne!(a.index_path(), b.index_path());
    }

    #[test]
    fn ci_refuses_an_upstream_mode_from_the_environment() {
        assert!(check_ci(Mode::Record, false, Some("true")).is_err());
        assert!(check_ci(Mode::Auto, false, Some("1")).is_err());
        assert!(check_ci(Mode::Record, true, Some("true")).is_ok());
        assert!(check_ci(Mode::Replay, false, Some("true")).is_ok());
        assert!(check_ci(Mode::Record, false, None).is_ok());
        assert!(check_ci(Mode::Record, false, Some("false")).is_ok());
    }

    #[test]
    fn max_ages_read_as_days_or_weeks() {
        assert_eq!(parse_max_age("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_max_age("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_max_age("30"), Ok(Duration::from_secs(30 * 86_400)));
        for bad in [
            "0d",
            "3h",
            "d",
            "-1d",
            "ninety",
            "36501d",
            "300000000000000d",
        ] {
            assert!(parse_max_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn latency_modes_parse_and_scale() {
        assert_eq!(Latency::parse("none"), Ok(Latency::None));
        assert_eq!(
            Latency::parse("recorded").unwrap().delay(200),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            Latency::parse("0.5").unwrap().delay(200),
            Some(Duration::from_millis(100))
        );
        assert_eq!(Latency::None.delay(200), None);
        for bad in ["-1", "fast", "NaN", "1e300", "inf"] {
            assert!(Latency::parse(bad).is_err(), "{bad}");
        }
    }
}
