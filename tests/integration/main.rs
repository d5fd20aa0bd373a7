//! Integration tests: start a proxy in-process (or the real binary), point a client at it,
//! assert what the client sees and what the cassette holds.

pub mod aws;
mod cli;
mod diff;
mod faults;
mod faults_injected;
mod har;
mod identities;
mod identity_pools;
pub mod interop;
mod node_helper;
mod oauth;
mod packages;
mod pytest_plugin;
mod record_replay;
mod rewrite_golden;
mod run;
mod rust_sdk;
mod scopes;
mod secrets;
mod shutdown;
mod support;
mod token_chains;
mod two_users;
