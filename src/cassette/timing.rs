//! How long the upstream took to answer a recorded call: a latency class in milliseconds (50,
//! 100, 200, 500... ms; less is not kept) in the stored answer's `cognito-vcr-latency-ms`
//! header, so that replay can take as long (`--latency recorded`). A re-record keeps the class it had while
//! the new one is at most one class away: ordinary jitter leaves the cassette as it was.

use std::collections::HashMap;
use std::time::Duration;

use super::Interaction;
use crate::cognito::wire::Response;
pub use crate::cognito::wire::LATENCY_HEADER;
use crate::keying::canonical::canonical;

/// The classes, in milliseconds: 1-2-5 steps up to 100 s.
const CLASSES: [u32; 16] = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000,
];

/// Latencies under this are not kept: what a local upstream (moto, LocalStack) or a busy machine
/// takes, noise that would only make re-records differ.
pub const KEPT_FROM: Duration = Duration::from_millis(50);

/// Whether a call that took `elapsed` keeps its latency class.
pub fn worth_keeping(elapsed: Duration) -> bool {
    elapsed >= KEPT_FROM
}

/// The class of `elapsed`: the nearest on a logarithmic scale.
pub fn class(elapsed: Duration) -> u32 {
    let ms = elapsed.as_secs_f64() * 1000.0;
    let log = ms.max(1.0).ln();
    CLASSES
        .iter()
        .copied()
        .min_by(|a, b| {
            let (da, db) = (
                (f64::from(*a).ln() - log).abs(),
                (f64::from(*b).ln() - log).abs(),
            );
            da.total_cmp(&db)
        })
        .unwrap_or(1)
}

/// The latency class `response` was recorded with, if any (a value that is not a class, as a
/// hand-edited one may be, is none).
pub fn of(response: &Response) -> Option<u32> {
    response
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(LATENCY_HEADER))
        .and_then(|(_, v)| class_of(v))
}

/// The class a header value names, if it names one.
pub fn class_of(value: &str) -> Option<u32> {
    value.parse().ok().filter(|ms| CLASSES.contains(ms))
}

/// Keep `elapsed`'s class in `response`.
pub fn set(response: &mut Response, elapsed: Duration) {
    response
        .headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case(LATENCY_HEADER));
    response
        .headers
        .push((LATENCY_HEADER.into(), class(elapsed).to_string()));
}

/// `response` without its latency class (what a recording says apart from its timing).
pub fn without(response: &Response) -> Response {
    let mut r = response.clone();
    r.headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case(LATENCY_HEADER));
    r
}

/// Whether two recorded answers are the same answer, however long each took.
pub fn same_answer(a: &Response, b: &Response) -> bool {
    a.status == b.status && a.body == b.body && without(a).headers == without(b).headers
}

/// Where the file being replaced (`old`) holds the same interaction with a latency class at most
/// one class away from the new one's, the new one takes the old class. No class counts as the
/// least kept one (a call of 45 ms, then of 55 or 75, is no change).
pub fn steady(new: &mut [Interaction], old: &[Interaction]) {
    let id = |i: &Interaction| {
        (
            i.scope.clone(),
            i.operation.clone(),
            canonical(&i.request),
            i.occurrence,
        )
    };
    let before: HashMap<_, Option<u32>> = old.iter().map(|i| (id(i), of(&i.response))).collect();
    let least = CLASSES
        .iter()
        .position(|&c| Duration::from_millis(c.into()) >= KEPT_FROM);
    let rank = |class: Option<u32>| match class {
        None => least,
        Some(ms) => CLASSES.iter().position(|&c| c == ms),
    };
    for i in new.iter_mut() {
        let now = of(&i.response);
        let Some(&was) = before.get(&id(i)) else {
            continue;
        };
        let (Some(a), Some(b)) = (rank(now), rank(was)) else {
            continue;
        };
        if now != was && a.abs_diff(b) <= 1 {
            match was {
                Some(ms) => set(&mut i.response, Duration::from_millis(ms.into())),
                None => i.response = without(&i.response),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::Scope;

    fn answered(ms: u64) -> Interaction {
        let mut response = Response {
            status: 200,
            headers: vec![("content-type".into(), "application/x-amz-json-1.1".into())],
            body: bytes::Bytes::from_static(b"{}"),
        };
        set(&mut response, Duration::from_millis(ms));
        Interaction {
            scope: Scope::default(),
            operation: "ListUsers".into(),
            occurrence: 1,
            request: serde_json::json!({"UserPoolId": "p"}),
            response,
        }
    }

    #[test]
    fn latencies_fall_into_classes() {
        for (ms, class_ms) in [
            (0, 1),
            (3, 2),
            (4, 5),
            (60, 50),
            (80, 100),
            (140, 100),
            (150, 200),
        ] {
            assert_eq!(class(Duration::from_millis(ms)), class_ms, "{ms} ms");
        }
        assert_eq!(of(&answered(120).response), Some(100));
        assert_eq!(of(&without(&answered(120).response)), None);
    }

    #[test]
    fn a_rerecord_keeps_a_class_one_step_away_and_takes_a_farther_one() {
        let old = [answered(100)];
        let mut jitter = [answered(190)];
        steady(&mut jitter, &old);
        assert_eq!(
            of(&jitter[0].response),
            Some(100),
            "200 is one step from 100"
        );
        let mut slower = [answered(480)];
        steady(&mut slower, &old);
        assert_eq!(of(&slower[0].response), Some(500), "two steps: a change");
        let mut other = [answered(480)];
        other[0].occurrence = 2;
        steady(&mut other, &old);
        assert_eq!(
            of(&other[0].response),
            Some(500),
            "not the same interaction"
        );
        // Under the least kept class, then just over it: no change; far over it: a change.
        let mut untimed = answered(100);
        untimed.response = without(&untimed.response);
        let mut just_over = [answered(55)];
        steady(&mut just_over, std::slice::from_ref(&untimed));
        assert_eq!(of(&just_over[0].response), None);
        let mut over = [answered(80)];
        steady(&mut over, std::slice::from_ref(&untimed));
        assert_eq!(of(&over[0].response), None, "100 is one class from none");
        let mut far_over = [answered(200)];
        steady(&mut far_over, &[untimed]);
        assert_eq!(of(&far_over[0].response), Some(200));
    }
}
