//! The commands beside `serve`: inspect (ls/show), demo, diff, export, progress.

pub mod demo;
pub mod diff;
mod export;
pub mod inspect;
pub mod progress;
pub use export::export;
