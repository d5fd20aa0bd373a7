//! Identities the session's own writes made the upstream generate (a pool id, an app client's id
//! and secret, a user's `sub`), stored as stable stand-ins.
//!
//! A suite that creates what it tests meets new ids on every run, and sends them back in every
//! later request, so they would reach every request key. As with pagination tokens, the client
//! gets the real value while recording and sends it back; the proxy learns real → stand-in from
//! the creating call's answer and stores (and keys) the stand-in wherever the real value
//! recurs: later requests and answers, ARNs, the claims of tokens. Replay hands out the
//! stand-ins. A stand-in is a function of what created it (the scope, the creating operation,
//! the request members that name the created thing, the field) and keeps the real value's
//! shape, so an unchanged session records the same bytes against any fresh upstream. (So the
//! same name created twice in one scope gets the same stand-in.) What the session did not create
//! keeps its real value, and so does a value the client itself sent in the creating request.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use super::redact::same_shape;
use super::replace::Replacements;
use crate::cognito::generated::{
    generated, generates, is_uuid, naming_members, new_on_every_call, Generated, Shape,
};
use crate::keying::canonical::canonical;
use crate::keying::key::RequestKey;

/// Shorter generated values are not learned: they could match inside unrelated text.
const MIN_LEN: usize = 8;

/// The stand-ins of one run.
pub struct Identities {
    enabled: bool,
    /// Set once anything is learned: until then (always, in replay) nothing is searched.
    any: AtomicBool,
    known: RwLock<Replacements>,
}

impl Identities {
    pub fn new(enabled: bool) -> Identities {
        Identities {
            enabled,
            any: AtomicBool::new(false),
            known: RwLock::default(),
        }
    }

    /// Whether anything was learned (never in replay): until then nothing is rewritten.
    pub fn active(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// Whether [`Identities::learn`] may learn anything from an answer to `operation`.
    pub fn learns(&self, operation: &str) -> bool {
        self.enabled && generates(operation)
    }

    /// Learn what a successful answer to a creating call generated: each value gets its
    /// stand-in, derived from the call's scope and operation and what its stored `request`
    /// names (the pool's name, a client's or user's name in its pool).
    /// `occurrence` names the value too for an operation that makes a new one on every call
    /// (GetId without logins).
    pub fn learn(&self, key: &RequestKey, occurrence: u32, request: &Value, answer: &Value) {
        if !self.enabled {
            return;
        }
        let found = generated(&key.operation, answer);
        if found.is_empty() {
            return;
        }
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        let mut added = false;
        let sent = crate::keying::canonical::canonical(request);
        for g in found {
            // A value the request itself holds was the client's choice (a UUID username), not
            // the upstream's: it is stored as it came, as in every later request.
            let chosen = memchr::memmem::find(&sent, g.value.as_bytes()).is_some();
            if chosen || g.value.len() < MIN_LEN || known.has(g.value) {
                continue;
            }
            let stand_in = stand_in(&g, &seed(key, occurrence, request, g.field));
            added |= known.add(g.value.to_owned(), stand_in);
        }
        if added {
            self.any.store(true, Ordering::Release);
        }
    }

    /// Every known real value in `v`'s strings as its stand-in, but in the members redaction
    /// owns, in pagination tokens and in JWTs (whose claims go through
    /// [`Identities::rewrite_claims`] when redaction makes their placeholder). True if any.
    pub fn rewrite(&self, v: &mut Value) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        self.built().rewrite(v, false)
    }

    /// Whether [`Identities::rewrite`] may change the JSON whose text is `raw` (see
    /// [`Replacements::may_change`]).
    pub fn may_change(&self, raw: &[u8]) -> bool {
        self.any.load(Ordering::Acquire) && self.built().may_change(raw)
    }

    /// The known values, their finder built if anything was learned since.
    fn built(&self) -> std::sync::RwLockReadGuard<'_, Replacements> {
        loop {
            let known = self.known.read().unwrap_or_else(|e| e.into_inner());
            if !known.needs_build() {
                return known;
            }
            drop(known);
            let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
            if known.needs_build() {
                known.build();
            }
        }
    }

    /// Every known real value in every string of `claims` (a token's claims) as its stand-in.
    pub fn rewrite_claims(&self, claims: &mut Value) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        self.built().rewrite(claims, true)
    }
}

fn seed(key: &RequestKey, occurrence: u32, request: &Value, field: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"cognito-vcr identity v1\0");
    h.update(key.scope.name().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(key.operation.as_bytes());
    for member in naming_members(&key.operation) {
        h.update([0]);
        h.update(canonical(request.get(*member).unwrap_or(&Value::Null)));
    }
    if new_on_every_call(&key.operation) {
        h.update([0]);
        h.update(occurrence.to_be_bytes());
    }
    h.update([0]);
    h.update(field.as_bytes());
    h.finalize().into()
}

/// A stand-in of the real value's shape: a pool id keeps its region, a UUID stays a version 4
/// UUID, anything else keeps each character's class.
fn stand_in(g: &Generated<'_>, seed: &[u8; 32]) -> String {
    match g.shape {
        Shape::PoolId => match g.value.split_once('_') {
            Some((region, rest)) => format!("{region}_{}", same_shape(rest, seed)),
            None => same_shape(g.value, seed),
        },
        Shape::Uuid if is_uuid(g.value) => uuid_stand_in(g.value, seed),
        Shape::RegionUuid => match g.value.split_once(':') {
            Some((region, uuid)) if is_uuid(uuid) => {
                format!("{region}:{}", uuid_stand_in(uuid, seed))
            }
            _ => same_shape(g.value, seed),
        },
        Shape::Uuid | Shape::Opaque => same_shape(g.value, seed),
    }
}

/// A version 4 UUID standing in for the UUID `real`.
fn uuid_stand_in(real: &str, seed: &[u8; 32]) -> String {
    let mut s: Vec<char> = same_shape(&real.to_ascii_lowercase(), seed)
        .chars()
        .collect();
    s[14] = '4';
    s[19] = ['8', '9', 'a', 'b'][usize::from(seed[31] % 4)];
    s.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keying::scope::Scope;
    use serde_json::json;

    fn key(op: &str, body: Value, scope: &str) -> RequestKey {
        RequestKey::new(op, &body).in_scope(Scope::named(scope).unwrap())
    }

    fn pool_created(ids: &Identities, real: &str, name: &str) -> String {
        // Another request each run (its settings), but the same name.
        let other: String = real.chars().rev().collect();
        let request = json!({"PoolName": name, "Policies": {"Seed": other}});
        let k = key("CreateUserPool", request.clone(), "setup");
        ids.learn(&k, 1, &request, &json!({"UserPool": {"Id": real}}));
        let mut v = json!(real);
        ids.rewrite(&mut v);
        v.as_str().unwrap().to_owned()
    }

    #[test]
    fn a_created_pool_gets_the_same_stand_in_on_every_run_and_keeps_its_shape() {
        let first = pool_created(&Identities::new(true), "us-east-1_8571791bf0614cb1", "p1");
        let second = pool_created(&Identities::new(true), "us-east-1_3ee3aa70c2b94d55", "p1");
        assert_eq!(first, second);
        assert!(first.starts_with("us-east-1_"), "{first}");
        assert_eq!(first.len(), "us-east-1_8571791bf0614cb1".len());
        assert_ne!(first, "us-east-1_8571791bf0614cb1");
        let other = pool_created(&Identities::new(true), "us-east-1_8571791bf0614cb1", "p2");
        assert_ne!(first, other, "another pool name, another pool");
    }

    #[test]
    fn a_stand_in_replaces_the_real_value_wherever_it_recurs_but_in_tokens() {
        let ids = Identities::new(true);
        let real = "us-east-1_8571791bf0614cb1";
        let stand_in = pool_created(&ids, real, "p1");
        let jwt = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.c2ln";
        let mut answer = json!({
            "UserPoolId": real,
            "Arn": format!("arn:aws:cognito-idp:us-east-1:123456789012:userpool/{real}"),
            "AccessToken": real,
            "NextToken": real,
            "Other": jwt,
            "Nested": [{"Id": real}],
        });
        assert!(ids.rewrite(&mut answer));
        assert_eq!(answer["UserPoolId"], stand_in.as_str());
        assert!(answer["Arn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{stand_in}")));
        assert_eq!(answer["Nested"][0]["Id"], stand_in.as_str());
        assert_eq!(answer["AccessToken"], real, "redaction's own");
        assert_eq!(answer["NextToken"], real, "the pagination token's own");
        assert_eq!(answer["Other"], jwt);
        let mut claims =
            json!({"iss": format!("https://cognito-idp.us-east-1.amazonaws.com/{real}")});
        assert!(ids.rewrite_claims(&mut claims));
        assert!(claims["iss"].as_str().unwrap().ends_with(&stand_in));
    }

    #[test]
    fn a_sub_stays_a_uuid_and_a_username_that_is_the_sub_gets_the_same_stand_in() {
        let ids = Identities::new(true);
        let sub = "56e9f9ef-20bf-4e44-9ba1-f29cb61f46b9";
        let request = json!({"UserPoolId": "p", "Username": "a@x.y"});
        let k = key("AdminCreateUser", request.clone(), "setup");
        ids.learn(
            &k,
            1,
            &request,
            &json!({"User": {"Username": sub, "Attributes": [{"Name": "sub", "Value": sub}]}}),
        );
        let mut v = json!([sub, sub.to_ascii_uppercase()]);
        ids.rewrite(&mut v);
        let stand_in = v[0].as_str().unwrap();
        assert!(is_uuid(stand_in), "{stand_in}");
        assert_eq!(&stand_in[14..15], "4");
        assert_ne!(stand_in, sub);
        assert_eq!(v[1], sub.to_ascii_uppercase(), "only the exact text");
    }

    #[test]
    fn a_uuid_the_client_chose_as_username_is_its_own() {
        let ids = Identities::new(true);
        let name = "11111111-2222-4333-8444-555555555555";
        let sub = "56e9f9ef-20bf-4e44-9ba1-f29cb61f46b9";
        let request = json!({"UserPoolId": "p", "Username": name});
        let k = key("AdminCreateUser", request.clone(), "setup");
        ids.learn(
            &k,
            1,
            &request,
            &json!({"User": {"Username": name, "Attributes": [{"Name": "sub", "Value": sub}]}}),
        );
        let mut v = json!([name, sub]);
        ids.rewrite(&mut v);
        assert_eq!(v[0], name, "sent by the client: kept");
        assert_ne!(v[1], sub, "made by the upstream: a stand-in");
    }

    #[test]
    fn identity_pools_and_identities_keep_their_region_and_each_new_identity_its_own_stand_in() {
        let ids = Identities::new(true);
        let pool = "us-east-1:0b8ac0a5-5b0c-4e8e-8a8f-3a4b2c1d0e9f";
        let request = json!({"IdentityPoolName": "app", "AllowUnauthenticatedIdentities": true});
        let k = key(
            "AWSCognitoIdentityService.CreateIdentityPool",
            request.clone(),
            "s",
        );
        ids.learn(&k, 1, &request, &json!({"IdentityPoolId": pool}));
        let get_id = json!({"IdentityPoolId": pool});
        let k = key("AWSCognitoIdentityService.GetId", get_id.clone(), "s");
        let identities = [
            "us-east-1:11111111-2222-4333-8444-555555555555",
            "us-east-1:21111111-2222-4333-8444-555555555555",
        ];
        for (occurrence, id) in (1..).zip(identities) {
            ids.learn(&k, occurrence, &get_id, &json!({"IdentityId": id}));
        }
        let mut v = json!([pool, identities[0], identities[1]]);
        assert!(ids.rewrite(&mut v));
        let stand_ins: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        for (stand_in, real) in stand_ins.iter().zip([pool, identities[0], identities[1]]) {
            assert_ne!(stand_in, &real);
            let (region, uuid) = stand_in.split_once(':').unwrap();
            assert!(region == "us-east-1" && is_uuid(uuid), "{stand_in}");
        }
        assert_ne!(
            stand_ins[1], stand_ins[2],
            "two GetId calls, two identities"
        );
    }

    #[test]
    fn off_or_before_anything_is_learned_nothing_changes() {
        let off = Identities::new(false);
        assert_eq!(
            pool_created(&off, "us-east-1_8571791bf0614cb1", "p1"),
            "us-east-1_8571791bf0614cb1"
        );
        let fresh = Identities::new(true);
        let mut v = json!({"UserPoolId": "us-east-1_8571791bf0614cb1"});
        assert!(!fresh.rewrite(&mut v));
        let ids = Identities::new(true);
        let request = json!({"ClientName": "a"});
        let k = key("CreateUserPoolClient", request.clone(), "s");
        ids.learn(
            &k,
            1,
            &request,
            &json!({"UserPoolClient": {"ClientId": "short"}}),
        );
        let mut v = json!("short");
        assert!(!ids.rewrite(&mut v), "too short to be told from other text");
    }
}
