//! A recorded answer held back, with `--latency`, as long as the upstream took to give it
//! (scaled): the class rides beside the response (`respond::RecordedLatency`), never as a header.

use crate::config::Latency;
use crate::proxy::respond::{HttpResponse, RecordedLatency};

/// Wait as `latency` says for the recorded latency `response` carries, if any.
pub async fn wait(latency: Latency, response: &HttpResponse) {
    let recorded = response.extensions().get::<RecordedLatency>();
    if let Some(delay) = recorded.and_then(|&RecordedLatency(ms)| latency.delay(ms)) {
        tokio::time::sleep(delay).await;
    }
}
