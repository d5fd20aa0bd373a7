//! The commands beside `serve`: inspect (ls/show), demo, diff, progress.

pub mod demo;
pub mod diff;
pub mod inspect;
pub mod progress;
