//! Answering from the recording: the hot path (`memo.rs`: keys by request bytes; `cache.rs`:
//! answers ready to send) and the lookup (`answer.rs`), which recorded answer (`lookup.rs`), a listing at another page size (`repage.rs`), tokens signed on the way
//! out (`token_signer.rs`), a miss (`miss.rs`, with `explain.rs`: why nothing matched), and the
//! recorded latency waited for (`timing.rs`).

pub(super) mod answer;
pub(super) mod cache;
pub(super) mod explain;
pub(super) mod lookup;
pub(super) mod memo;
pub(super) mod miss;
pub(super) mod repage;
pub(super) mod timing;
pub(super) mod token_signer;
