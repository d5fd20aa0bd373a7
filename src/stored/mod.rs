//! What gets written: synthetic pagination tokens, redaction and placeholders.

pub mod page_tokens;
pub mod redact;
