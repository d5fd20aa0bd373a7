//! The request key: canonical JSON, the keying rules, the key itself.

pub mod json;
pub mod key;
pub mod rules;
