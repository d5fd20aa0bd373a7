//! A recorded answer on its way out: its latency class taken off (a client never sees it), and,
//! with `--latency`, the answer held back as long as the upstream took (scaled).

use hyper::header::HeaderName;

use crate::cassette::timing::LATENCY_HEADER;
use crate::config::Latency;
use crate::proxy::respond::HttpResponse;

/// Take the recorded latency off `response`; wait for it as `latency` says.
pub async fn as_recorded(latency: Latency, response: &mut HttpResponse) {
    static HEADER: HeaderName = HeaderName::from_static(LATENCY_HEADER);
    let Some(class) = response.headers_mut().remove(&HEADER) else {
        return;
    };
    let ms = class
        .to_str()
        .ok()
        .and_then(crate::cassette::timing::class_of);
    if let Some(delay) = ms.and_then(|ms| latency.delay(ms)) {
        tokio::time::sleep(delay).await;
    }
}
