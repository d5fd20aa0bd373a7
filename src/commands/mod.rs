//! The commands beside `serve`: run (a proxy for one command), inspect (ls/show), demo, diff,
//! export, lint, HAR export and import.

pub mod demo;
pub mod diff;
mod export;
pub mod har;
pub mod inspect;
pub mod lint;
pub mod run;
pub use export::export;
