//! cognito-vcr: record and replay the Amazon Cognito user pools and identity pools APIs and a
//! user pool's OAuth2/OIDC endpoints.
//!
//! # Layout
//! The one map of the code (`docs/README.md` and `proxy/mod.rs` point here). Each file opens with a
//! line saying what it owns. Modules stand on the ones listed after them, never the other way:
//! the binary on the library, the proxy on the store, the store on the cassette, and so down
//! to the ground floor.
//!
//! **The binary** (not part of the library): `main.rs` (flags to validated settings, logging,
//! dispatch, exit codes), `cli.rs` (the clap types), `progress.rs` (a one-line progress display
//! on a terminal).
//!
//! **[`commands`]**, the commands beside `serve`: `run.rs` (a proxy for the length of one
//! command), `inspect.rs` (`ls`, `show`), `demo.rs` (with the demo cassette it carries), `diff/` (`mod.rs` the comparison,
//! `compare.rs` inside two answers, `render.rs` text and JSON, `live.rs` re-sending to the
//! upstream), `export.rs`, `lint.rs`, `har/` (`export.rs`: `export --har`, a cassette as HAR;
//! `import.rs`: `import --har`, a HAR's Cognito calls recorded through the record run's
//! pipeline and store). The page docs/har.md tells how they are used.
//!
//! **`proxy/`**, the only code that touches hyper; [`Proxy`] runs it in-process. One request's
//! path, in order:
//! - `server.rs`: the accept loop (plain or TLS, timeouts, a cap on connections); CONNECT to
//!   `intercept.rs` (HTTPS_PROXY interception), every other request to `handler.rs`; `http.rs`:
//!   the HTTP/1.1 and HTTP/2 settings both serve with; `drain.rs`: the graceful stop
//! - `handler.rs`: the story of one exchange, a page long: the headers it checks found once
//!   (`heads.rs`), route (`origin.rs`: who may drive
//!   the proxy; `scopes.rs`: the scope or control call from the URL path), `control.rs` (reset,
//!   summaries, JWKS), `read.rs` (headers, target, body), `faults.rs` (the config file's
//!   injected faults), then the answer, then the count and the log line
//! - `replay/answer.rs`: the replay hot path (`memo.rs`: keys by request bytes; `cache.rs`:
//!   answers ready to send), then `exchange.rs`: the call answered by mode, with its key and
//!   occurrence (`occurrences.rs`)
//! - `replay/`: answering from the recording: `answer.rs` (lookup, re-paging, signing, the
//!   cache), `lookup.rs` (which recorded answer), `repage.rs` (a listing at another page size),
//!   `token_signer.rs` (placeholder JWTs signed on the way out, and the JWKS), `miss.rs` (what a
//!   miss tells the client), `explain.rs` (why nothing matched), `timing.rs` (the recorded
//!   latency waited for)
//! - `forward.rs`: forwarding, and recording the answer (the taken occurrence, the store step);
//!   `upstream/`: the client (`mod.rs`), `route.rs` (the region of a call), `sign.rs` (SigV4
//!   re-signing)
//! - `oauth.rs`: a user pool's OAuth2/OIDC endpoints as a client gets them (the redirect's
//!   state, the discovery document naming the proxy, errors in OAuth's shape)
//! - `respond.rs`: HTTP responses and Cognito-shaped errors; `summary.rs`: outcomes, tallies
//!   per scope, the [`Summary`]
//! - `mod.rs`: [`Proxy`], the run's state, and the mode as a type (`Run`)
//!
//! **`store/`**, what is kept: the sled store of recordings for writers (`mod.rs`, its layout
//! in `encoding.rs`, cassette import in `import.rs`, group commit in `commit.rs`), and what
//! replay reads: the cassette's index file, read and checked (`index/`: `mod.rs` lookups, `layout.rs`
//! its bytes, `build.rs` building it under a lock).
//!
//! **[`cassette`]**, the committed JSON: load, order, atomic write; `stream.rs` reads one
//! interaction at a time; `dates.rs` when each scope was recorded (kept by an unchanged
//! re-record); `timing.rs` each call's latency class.
//!
//! **`har.rs`**: the HAR 1.2 format (entries read leniently, written whole; its errors).
//!
//! **`error.rs`**: typed errors. **`tls.rs`**: the state directory's local CA, the listener's
//! and the upstream client's TLS (public as [`tls`]).
//!
//! **`rewrite/`**, what is stored instead of what was sent and answered, as one pipeline
//! (`mod.rs`): `identities.rs` (ids the session's creating calls generated as stable stand-ins)
//! and `dates.rs` (the session's dates as virtual dates), `page_tokens.rs` (real pagination
//! tokens as stable synthetic ones), then `redact/` (secrets as hashes, handed-out values as
//! placeholders: `mod.rs` the redactor, `hash.rs`, `placeholder.rs`, `marks.rs` which stored
//! values are ours, `names.rs` the names it looks for in an answer's bytes), then masking;
//! `replace.rs` replaces known values (stand-ins, the config's aliases) inside stored JSON.
//!
//! **`config/`**: validated settings ([`ServeConfig`], [`Mode`]), the TOML file (`file.rs`),
//! its fault rules (`faults.rs`).
//!
//! **`cognito/`**, the services' own facts: `wire.rs` (AWS JSON 1.1 request and response; which
//! service, user pools or identity pools, a target names, and the operation's stored name),
//! `oauth.rs` (a user pool's OAuth2/OIDC endpoints as operations: paths, form and Basic
//! credential to a keyed body, the authorize redirect, the discovery document),
//! `pagination.rs` (which operations paginate, with which token fields), `operations.rs`
//! (unsigned and read-only operations), `errors.rs` (the error names the proxy answers with),
//! `generated.rs` (what creating calls make the upstream generate).
//! **`jwt.rs`**: JWT parts and claims, and the placeholder JWT that redaction makes and replay
//! signs.
//!
//! **`keying/`**, the request key: `canonical.rs` (canonical JSON and digest), `json.rs`
//! (parsing that keeps numbers as written), `rules.rs` (fields left out of keys), `filter.rs`
//! (the ListUsers `Filter` grammar), `scope.rs` (scopes), `key.rs` (the key itself).
//! **`files.rs`**, the ground floor: names beside a file, durable renames, atomic writes, private
//! key files, the state directory's lock.
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
mod har;
mod jwt;
mod keying;
mod proxy;
mod rewrite;
mod store;
pub mod tls;

pub use cognito::wire::Response;
pub use config::file::{Settings, SettingsError};
pub use config::{
    check_ci, default_state_dir, default_store, parse_max_age, InterceptConfig, Latency, Limits,
    Mode, ServeConfig, TlsSource, TokenTimes, DEFAULT_BODY_BUDGET, DEFAULT_MAX_BODY,
};
pub use error::{Error, Result};
pub use keying::json::parse as parse_json;
pub use proxy::summary::Summary;
pub use proxy::Proxy;
pub use rewrite::page_tokens::SYNTHETIC_PREFIX;
