//! cognito-vcr: record and replay the Amazon Cognito user pools API.
//!
//! # Layout
//! - `config.rs`: validated settings ([`ServeConfig`], [`Mode`])
//! - `exchange.rs`: the owned request/response snapshot
//! - `json.rs`: JSON parsing that keeps numbers exactly as written
//! - `key.rs`: canonical JSON and the request key
//! - `session.rs`: occurrence counters and the run summary
//! - `tokens.rs`: the token table and token virtualization (synthetic pagination tokens)
//! - `cassette.rs`: the JSON cassette (load, order, atomic write); `cassette/stream.rs` reads
//!   one interaction at a time
//! - `store.rs`: the sled store and its sync with the cassette; `store/import.rs` streams a
//!   cassette in, `store/encoding.rs` lays out keys and values
//! - `commit.rs`: group commit (durable before the answer, one flush for many writes)
//! - `inspect.rs`: what `ls` and `show` print
//! - `diff/`: comparing two recordings (chains as item lists, change log, JSON, --live)
//! - `demo.rs`: the `demo` command (replay of the shipped cassette with an example call)
//! - `cli.rs`: command-line flags and their conversion into `config.rs` types
//! - `proxy/`: everything that touches hyper; [`Proxy`] runs it in-process
//! - `error.rs`: typed errors
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
pub mod cognito;
pub mod config;
pub mod error;
pub mod keying;
pub mod proxy;
pub mod store;
pub mod stored;
pub mod tools;

pub use config::{Mode, ServeConfig};
pub use error::{Error, Result};
pub use proxy::summary::Summary;
pub use proxy::Proxy;
