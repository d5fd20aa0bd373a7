//! HAR files and cassettes: `export --har` writes a cassette (or one scope) as HAR 1.2;
//! `import --har` records the Cognito calls of a HAR into a cassette as a recording would.
//! The format itself is in `src/har.rs`.

mod export;
mod import;

pub use export::{export, to_har, ExportOptions};
pub use import::{import, ImportOptions, Imported, Skip};

/// The URL path a named scope is served on (`/scope/NAME`): written by export, read by import.
const SCOPE_PATH: &str = "/scope/";
