//! cognito-vcr: record and replay the Amazon Cognito user pools API.
//!
//! # Layout
//! The path of one call through the proxy, then what sits beside it:
//!
//! - `proxy/`: the only code that touches hyper; [`Proxy`] runs it in-process.
//!   - `server.rs`: accept loop (plain or TLS, timeouts, a cap on connections), CONNECT to
//!     `intercept.rs`, everything else to `handler.rs`; `drain.rs` stops connections and tunnels
//!     gracefully
//!   - `origin.rs`: who may drive the proxy (loopback hosts, no web pages); `scopes.rs`: the
//!     scope from the URL path, and the reset call
//!   - `handler.rs`: one exchange: read, key, then replay, forward or record by [`Mode`]
//!     (`mod.rs` holds the run's state, with the mode as a type); `faults.rs`: faults injected
//!     by the config file's rules, before a call is keyed
//!   - `replay/`: what replay answers (`lookup.rs`) and the hot path (`memo.rs`: request keys
//!     by request bytes; `cache.rs`: answers ready to send)
//!   - `occurrences.rs`: occurrence counters per request; `summary.rs`: outcomes and [`Summary`]
//!   - `upstream/`: the client towards the upstream (`mod.rs`), `route.rs` (region of a call),
//!     `sign.rs` (SigV4 re-signing)
//!   - `respond.rs`: HTTP responses and Cognito-shaped errors; `tls.rs`: listener and client TLS,
//!     the local CA
//! - `cognito/`: the service's own facts: `wire.rs` (AWS JSON 1.1 request and response),
//!   `pagination.rs` (which operations paginate, with which token fields), `operations.rs`
//!   (unsigned and read-only operations), `errors.rs` (the error names the proxy answers with)
//! - `keying/`: the request key: `canonical.rs` (canonical JSON and digest; imports nothing of
//!   the crate), `json.rs` (parsing that keeps numbers as written), `rules.rs` (fields left out
//!   of keys), `filter.rs` (the ListUsers `Filter` grammar), `scope.rs` (scopes), `key.rs` (the
//!   key itself)
//! - `stored/`: what gets written, as one pipeline: `page_tokens.rs` (synthetic pagination
//!   tokens), `redact.rs` (hashes and placeholders)
//! - `store/`: the sled store of recordings (`mod.rs`), its layout (`encoding.rs`), cassette
//!   import (`import.rs`), group commit (`commit.rs`), and what replay reads: the cassette's
//!   index file, mapped (`index.rs`)
//! - [`cassette`]: the committed JSON (load, order, atomic write; `stream.rs` reads one
//!   interaction at a time)
//! - `config/`: validated settings ([`ServeConfig`], [`Mode`]), the TOML file (`file.rs`) and
//!   its fault rules (`faults.rs`)
//! - [`tools`]: the commands beside `serve`: `inspect` (ls, show), `demo`, `diff/`, `export`,
//!   `lint`, `progress`
//! - `error.rs`: typed errors
//!
//! The binary (`main.rs`, with its clap types in `cli.rs`) is not part of the library.
//!
//! # In a Rust test
//! ```no_run
//! # async fn t() -> Result<(), cognito_vcr::Error> {
//! let proxy = cognito_vcr::Proxy::start(
//!     cognito_vcr::ServeConfig::new(cognito_vcr::Mode::Replay, "cassettes/demo.json"),
//! ).await?;
//! std::env::set_var("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", proxy.url());
//! // ... run the code under test ...
//! let summary = proxy.stop().await?;
//! # Ok(()) }
//! ```

pub mod cassette;
mod cognito;
pub mod commands;
mod config;
mod error;
mod files;
mod jwt;
mod keying;
mod proxy;
mod rewrite;
mod store;
pub mod tls;

pub use cognito::wire::Response;
pub use config::file::{Settings, SettingsError};
pub use config::{
    check_ci, default_state_dir, default_store, InterceptConfig, Limits, Mode, ServeConfig,
    TlsSource, TokenTimes, DEFAULT_MAX_BODY,
};
pub use error::{Error, Result};
pub use keying::json::parse as parse_json;
pub use proxy::summary::Summary;
pub use proxy::Proxy;
pub use rewrite::page_tokens::SYNTHETIC_PREFIX;
