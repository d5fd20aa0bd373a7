//! The request key: canonical JSON, the keying rules, the key itself.

pub mod canonical;
pub mod filter;
pub mod json;
pub mod key;
pub mod rules;
pub mod scope;
