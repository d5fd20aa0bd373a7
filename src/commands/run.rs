//! `cognito-vcr run -- COMMAND`: a proxy for the length of one command (a test suite), with the
//! command's environment pointing its AWS SDK at it, signals passed on, and one exit status.

use std::ffi::OsString;
use std::process::ExitStatus;

use crate::config::{Mode, ServeConfig};
use crate::proxy::summary::Summary;
use crate::Proxy;

/// The variable every AWS SDK and the CLI read for the Cognito user pools endpoint.
pub const ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER";
/// The proxy's own URL, for test-runner integrations that use scopes (the pytest plugin, the
/// Node helper): they use this proxy instead of starting their own.
pub const URL_VARIABLE: &str = "COGNITO_VCR_URL";
/// Credentials and region a replayed client needs to build a request (never checked).
const CREDENTIAL_PLACEHOLDERS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "cognito-vcr-replay"),
    ("AWS_SECRET_ACCESS_KEY", "cognito-vcr-replay"),
];
const PLACEHOLDER_REGION: &str = "us-east-1";
/// Variables that say where the command's AWS credentials come from: with any of them set, the
/// SDK's own chain finds them (and placeholders would mix with, or override, the real ones).
const CREDENTIAL_SOURCES: [&str; 7] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
];
/// Signals passed on to the command when another process sent them (the terminal's Ctrl-C
/// reaches the command itself, being in the same process group).
const FORWARDED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Why `run` could not run the command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error(transparent)]
    Proxy(#[from] crate::Error),
    #[error("cannot run {program:?}")]
    Spawn {
        program: OsString,
        source: std::io::Error,
    },
    #[error("cannot wait for the command")]
    Wait(#[source] std::io::Error),
    #[error("cannot handle signals")]
    Signals(#[source] std::io::Error),
}

/// How a run ended.
#[derive(Debug)]
pub struct Finished {
    /// The command's exit status.
    pub status: ExitStatus,
    /// The proxy's summary, after it stopped (the cassette written if it recorded).
    pub summary: Summary,
}

impl Finished {
    /// The command's status; 128 + N when signal N ended it; 1 when it passed but a strict run
    /// had misses or unused interactions.
    pub fn exit_code(&self) -> u8 {
        use std::os::unix::process::ExitStatusExt;
        match (self.status.code(), self.status.signal()) {
            (Some(0), _) if self.summary.is_failure() => 1,
            (Some(code), _) => u8::try_from(code).unwrap_or(1),
            (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
            (None, None) => 1,
        }
    }
}

/// The environment the command gets: the endpoint (and CA) of the proxy; in replay, placeholder
/// credentials (as a complete set, and only when no credential source is configured: no
/// variable of [`CREDENTIAL_SOURCES`], no shared credentials or config file with anything in it)
/// and a region where the caller's environment has none.
pub fn environment(
    proxy: &Proxy,
    mode: Mode,
    present: impl Fn(&str) -> bool,
    shared_files: bool,
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        (ENDPOINT_VARIABLE, proxy.url()),
        (URL_VARIABLE, proxy.url()),
    ];
    if let Some(ca) = proxy.ca() {
        env.push(("AWS_CA_BUNDLE", ca.display().to_string()));
    }
    if mode == Mode::Replay {
        let configured = shared_files || CREDENTIAL_SOURCES.iter().any(|name| present(name));
        if !configured {
            env.extend(
                CREDENTIAL_PLACEHOLDERS
                    .iter()
                    .map(|(name, value)| (*name, (*value).to_owned())),
            );
        }
        // The two region variables as a pair: one that is set is not contradicted (boto3 reads
        // AWS_DEFAULT_REGION, the other SDKs AWS_REGION); neither set, both get the placeholder.
        if !present("AWS_REGION") && !present("AWS_DEFAULT_REGION") {
            env.push(("AWS_REGION", PLACEHOLDER_REGION.to_owned()));
            env.push(("AWS_DEFAULT_REGION", PLACEHOLDER_REGION.to_owned()));
        }
    }
    env
}

/// Whether the AWS shared credentials or config file (where the SDKs look, or where
/// `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE` say) has anything in it: a profile there
/// is a credential source.
fn shared_files_configured() -> bool {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let file = |variable: &str, default: &str| {
        std::env::var_os(variable)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    [
        file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        file("AWS_CONFIG_FILE", "config"),
    ]
    .into_iter()
    .flatten()
    .any(|path| std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0))
}

/// The command must not outlive `run`, even one killed with SIGKILL (which it cannot pass on):
/// on Linux the kernel sends the command SIGTERM when `run` ends. (`run` spawns from the thread
/// that runs it to the end, which the parent-death signal is tied to.)
fn end_with_this_process(child: &mut tokio::process::Command) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // SIGTERM ignored by `run` (and so by the command): the kernel's word is SIGKILL.
        let (signal, exit) = match ignored(libc::SIGTERM) {
            false => (libc::SIGTERM, 128 + libc::SIGTERM),
            true => (libc::SIGKILL, 128 + libc::SIGKILL),
        };
        // SAFETY: between fork and exec only async-signal-safe calls are made (prctl, getppid,
        // raise).
        unsafe {
            child.pre_exec(move || {
                // `run`'s own SIGTERM handler is inherited until exec: the parent-death signal
                // must end this process, not run that handler.
                if signal == libc::SIGTERM {
                    libc::signal(libc::SIGTERM, libc::SIG_DFL);
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, signal) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // `run` died before the line above: end now, as the signal would have.
                if libc::getppid() != parent {
                    libc::_exit(exit);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = child;
}

/// Start the proxy, run `command` against it, stop the proxy when the command exits.
/// `started` is told the proxy's URL and CA before the command starts.
pub async fn run(
    config: ServeConfig,
    command: &[OsString],
    started: impl FnOnce(&Proxy),
) -> Result<Finished, RunError> {
    let mode = config.mode;
    let (program, args) = command.split_first().ok_or_else(|| RunError::Spawn {
        program: OsString::new(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "no command given"),
    })?;
    let proxy = Proxy::start(config).await?;
    started(&proxy);
    let mut child = tokio::process::Command::new(program);
    child.args(args).envs(environment(
        &proxy,
        mode,
        |name| std::env::var_os(name).is_some(),
        shared_files_configured(),
    ));
    // Handlers first: a signal between the spawn and their installation is not lost. A signal
    // this process ignores (run under nohup, or in the background of a script) stays ignored,
    // and the command inherits that as it would without `run`.
    let handled: Vec<i32> = FORWARDED.into_iter().filter(|s| !ignored(*s)).collect();
    let mut signals = match signal_hook::iterator::SignalsInfo::<
        signal_hook::iterator::exfiltrator::WithOrigin,
    >::new(handled)
    {
        Ok(signals) => signals,
        Err(e) => {
            // The command never ran: what the proxy has (nothing, normally) is still written.
            let _ = proxy.stop().await;
            return Err(RunError::Signals(e));
        }
    };
    let handle = signals.handle();
    let (tx, mut received) = tokio::sync::mpsc::unbounded_channel();
    let forwarder = std::thread::spawn(move || {
        for origin in signals.forever() {
            // Sent by the kernel (a terminal's Ctrl-C to the whole foreground group): the
            // command has it already.
            if !matches!(origin.cause, signal_hook::low_level::siginfo::Cause::Kernel) {
                let _ = tx.send(origin.signal);
            }
        }
    });
    end_with_this_process(&mut child);
    let spawned = child.spawn().map_err(|source| RunError::Spawn {
        program: program.clone(),
        source,
    });
    let status = match spawned {
        Ok(mut child) => loop {
            tokio::select! {
                status = child.wait() => break status.map_err(RunError::Wait),
                Some(signal) = received.recv() => {
                    // The child is not reaped while this loop holds it: its pid is its own.
                    if let Some(pid) = child.id().and_then(|p| libc::pid_t::try_from(p).ok()) {
                        // SAFETY: kill(2) with our unreaped child's pid and a valid signal.
                        unsafe {
                            libc::kill(pid, signal);
                        }
                    }
                }
            }
        },
        Err(e) => Err(e),
    };
    handle.close();
    let _ = forwarder.join();
    // Stopped gracefully (a record run's cassette written) even when the command did not run.
    let summary = proxy.stop().await;
    Ok(Finished {
        status: status?,
        summary: summary?,
    })
}

/// Whether this process ignores `signal` (SIG_IGN), as under `nohup`.
fn ignored(signal: i32) -> bool {
    // SAFETY: sigaction(2) with a null new action only reads the current one into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}
