//! The commands beside `serve`: inspect (ls/show), demo, diff, export, lint, progress.

pub mod demo;
pub mod diff;
mod export;
pub mod inspect;
pub mod lint;
pub mod progress;
pub use export::export;
