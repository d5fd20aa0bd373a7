//! The library's typed errors: what can go wrong opening, syncing or writing a cassette and store.

use std::path::PathBuf;

/// Everything the library can fail with. The binary adds context with `anyhow` at the edge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot read cassette {path}")]
    ReadCassette {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cassette {path} is not valid: line {line}, column {column}: {message}")]
    CorruptCassette {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("cassette {path} has version {found}; this cognito-vcr reads version {supported}{}", version_hint(*.found))]
    CassetteVersion {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
    #[error("cassette {0} does not exist (replay needs a recorded cassette)")]
    MissingCassette(PathBuf),
    #[error("cannot write cassette {path}")]
    WriteCassette {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store {path}")]
    Store { path: PathBuf, source: sled::Error },
    #[error("store {path}: only {available} bytes free, {needed} needed to record safely (the disk is full; recording goes on once there is room)")]
    NoSpace {
        path: PathBuf,
        available: u64,
        needed: u64,
    },
    #[error("could not write cassette {cassette}; the recordings are safe in store {store}: `cognito-vcr export --cassette {cassette}` writes them once the cause is fixed")]
    Export {
        cassette: PathBuf,
        store: PathBuf,
        #[source]
        source: Box<Error>,
    },
    #[error(
        "store {path} is not to be trusted ({source}): delete it, or give this run another --store"
    )]
    UntrustedStore {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Replay with --strict and --max-age: scopes recorded too long ago (the message names them).
    #[error("{0}")]
    TooOld(String),
    #[error("store {0} is in use by another cognito-vcr process (stop it, or give this one another --store)")]
    StoreInUse(PathBuf),
    #[error("store {path} holds an entry it cannot decode (key {key}); delete the store directory to rebuild it from the cassette")]
    CorruptStore { path: PathBuf, key: String },
    #[error("replay index {path}")]
    Index {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Settings(#[from] crate::config::file::SettingsError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("cassette {cassette} holds nothing in scope {scope} ({held})")]
    NoSuchScope {
        cassette: PathBuf,
        scope: String,
        /// What it holds instead, in words.
        held: String,
    },
    #[error(transparent)]
    Har(#[from] crate::har::HarError),
    #[error("invalid upstream URL {url:?}: {reason}")]
    Upstream { url: String, reason: String },
}

/// Why a call cannot be re-signed for the upstream (credentials, signing).
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("no AWS credentials for re-signing: no credentials provider is configured (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, or run with a role)")]
    NoProvider,
    #[error("no AWS credentials for re-signing: none found in the environment, the shared config and credentials files, web identity, SSO or instance metadata (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, or run with a role)")]
    NoCredentials,
    #[error("no AWS credentials for re-signing (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, or run with a role)")]
    Credentials(#[source] aws_credential_types::provider::error::CredentialsError),
    #[error("could not sign the request")]
    Signing(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What to do about a cassette of an older version.
fn version_hint(found: u64) -> &'static str {
    match found {
        1 => " (version 1 predates chain-stable pagination tokens: re-record it with `cognito-vcr serve --mode record --cassette PATH`, then replay as before)",
        _ => "",
    }
}

/// An error and its causes on one line (`a: b: c`), for the messages the proxy itself writes
/// (answers to clients, log lines); the binary prints its errors the same way with anyhow.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
