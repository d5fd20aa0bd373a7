//! Secrets as stored: a slow salted hash (PBKDF2-HMAC-SHA256) behind [`REDACTED_PREFIX`], the
//! same on every machine and every run, each distinct secret hashed once per run.

use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;

use crate::keying::canonical::hex;

pub const REDACTED_PREFIX: &str = "cognito-vcr-redacted-";

/// Hashes remembered for the run (each distinct secret is hashed once); past this the memory
/// starts over.
const MAX_CACHED_HASHES: usize = 4096;

/// PBKDF2 cost and salt of the secret hash (fixed, so that a replay on another machine computes
/// the same hash for the same password).
const HASH_ROUNDS: u32 = 100_000;
const HASH_SALT: &[u8] = b"cognito-vcr secret v1";

/// Secret → its hash (PBKDF2 is slow on purpose; each secret is hashed once per run).
#[derive(Default)]
pub(super) struct Hashes(Mutex<HashMap<String, String>>);

impl Hashes {
    /// The stored form of `secret`.
    pub(super) fn hash(&self, secret: &str) -> String {
        if let Some(h) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(secret) {
            return h.clone();
        }
        let mut out = [0u8; 16];
        pbkdf2::pbkdf2_hmac::<Sha256>(secret.as_bytes(), HASH_SALT, HASH_ROUNDS, &mut out);
        let h = format!("{REDACTED_PREFIX}{}", hex(&out));
        let mut hashes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if hashes.len() >= MAX_CACHED_HASHES {
            hashes.clear();
        }
        hashes.insert(secret.to_owned(), h.clone());
        h
    }
}
