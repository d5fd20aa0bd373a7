//! The replay hot path: request keys by request bytes, answers ready to send.

pub(super) mod cache;
pub(super) mod lookup;
pub(super) mod memo;
