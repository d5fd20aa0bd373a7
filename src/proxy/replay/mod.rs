//! What replay answers (`lookup.rs`), why it missed (`explain.rs`), and the hot path: request
//! keys by request bytes (`memo.rs`), answers ready to send (`cache.rs`); a recorded listing served
//! at another page size (`repage.rs`).

pub(super) mod answer;
pub(super) mod cache;
pub(super) mod explain;
pub(super) mod lookup;
pub(super) mod memo;
pub(super) mod miss;
pub(super) mod repage;
pub(super) mod token_signer;
