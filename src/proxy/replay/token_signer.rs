//! Replayed JWTs that verify: the proxy signs the placeholder JWTs it hands out with a key of its
//! own (RS256, kept in the state directory, with a `kid`), serves the matching JWKS, and reads a
//! token it signed back to its placeholder, so the cassette and the request keys never change.
//!
//! A signed token's header carries its placeholder (`x-cognito-vcr`): any proxy process reading
//! the state directory's key, or none at all, turns it back without remembering anything.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::TokenTimes;
use crate::jwt::{
    decode_part, jwt_parts, set_present_claims, PLACEHOLDER_HEADER, PLACEHOLDER_PREFIX,
};
use crate::keying::canonical::hex;
use crate::rewrite::redact::{credentials_expirations, rewrite_strings};

/// The key file in the state directory.
pub const KEY_FILE: &str = "jwt-signing-key.pem";
/// The smallest signing key taken (the size Cognito's own keys have).
const MIN_KEY_BITS: usize = 2048;
/// With fresh times: how long a signed token is valid from now.
const FRESH_VALIDITY: i64 = 3600;

/// Why the signing key cannot be had.
#[derive(Debug, thiserror::Error)]
#[error("JWT signing key {path}: {message}")]
pub struct KeyError {
    pub path: PathBuf,
    pub message: String,
}

/// The proxy's signing key, made or read on first use.
pub struct TokenSigner {
    dir: PathBuf,
    times: TokenTimes,
    key: OnceLock<Result<Key, String>>,
}

struct Key {
    signing: SigningKey<Sha256>,
    kid: String,
    jwks: Value,
}

impl TokenSigner {
    pub fn new(dir: &Path, times: TokenTimes) -> TokenSigner {
        TokenSigner {
            dir: dir.to_owned(),
            times,
            key: OnceLock::new(),
        }
    }

    pub fn times(&self) -> TokenTimes {
        self.times
    }

    fn key(&self) -> Result<&Key, KeyError> {
        self.key
            .get_or_init(|| load_or_make(&self.dir).map_err(|e| e.message))
            .as_ref()
            .map_err(|message| KeyError {
                path: self.dir.join(KEY_FILE),
                message: message.clone(),
            })
    }

    /// The JWKS clients verify with (`/<UserPoolId>/.well-known/jwks.json`).
    pub fn jwks(&self) -> Result<&Value, KeyError> {
        Ok(&self.key()?.jwks)
    }

    /// `body` with every placeholder JWT in it signed, and with fresh times the `Expiration` of
    /// the AWS credentials it hands out an hour from now; `None` when nothing changes.
    pub fn sign_answer(&self, body: &[u8]) -> Result<Option<Vec<u8>>, KeyError> {
        let marker = format!(".{PLACEHOLDER_PREFIX}");
        let tokens = memchr::memmem::find(body, marker.as_bytes()).is_some();
        let credentials = self.times == TokenTimes::Now
            && memchr::memmem::find(body, b"\"SessionToken\"").is_some();
        if !tokens && !credentials {
            return Ok(None);
        }
        let Ok(mut value) = crate::keying::json::parse(body) else {
            return Ok(None);
        };
        let mut changed = credentials && fresh_expiration(&mut value);
        if tokens {
            let key = self.key()?;
            changed |= self.sign_pairs(key, &mut value);
            changed |= rewrite_strings(&mut value, &mut |s| self.sign(key, s, None));
        }
        Ok(changed.then(|| value.to_string().into_bytes()))
    }

    /// Each id token handed out beside an access token, signed after it with the hash of the
    /// access token the client gets (`at_hash`, when the id token has one, as OIDC asks);
    /// true if any was signed.
    fn sign_pairs(&self, key: &Key, v: &mut Value) -> bool {
        let mut signed = false;
        match v {
            Value::Object(map) => {
                for (access, id) in [("access_token", "id_token"), ("AccessToken", "IdToken")] {
                    let Some(Value::String(token)) = map.get(access) else {
                        continue;
                    };
                    let Some(access_token) = self.sign(key, token, None) else {
                        continue;
                    };
                    let hash = at_hash(&access_token);
                    if let Some(Value::String(token)) = map.get(id) {
                        if let Some(id_token) = self.sign(key, token, Some(&hash)) {
                            map.insert(id.to_owned(), Value::String(id_token));
                        }
                    }
                    map.insert(access.to_owned(), Value::String(access_token));
                    signed = true;
                }
                for item in map.values_mut() {
                    signed |= self.sign_pairs(key, item);
                }
            }
            Value::Array(items) => {
                for item in items {
                    signed |= self.sign_pairs(key, item);
                }
            }
            _ => {}
        }
        signed
    }

    /// A placeholder JWT signed: header `{alg, kid, x-cognito-vcr: placeholder}`, the claims
    /// (times as chosen, `at_hash` as given when the token has one), an RS256 signature.
    fn sign(&self, key: &Key, placeholder: &str, at_hash: Option<&str>) -> Option<String> {
        let [_, claims, signature] = jwt_parts(placeholder)?;
        if !signature.starts_with(PLACEHOLDER_PREFIX) {
            return None;
        }
        let claims = match (self.times, at_hash) {
            (TokenTimes::Recorded, None) => claims.to_owned(),
            (times, at_hash) => claims_as_sent(claims, times, at_hash)?,
        };
        let header = json!({"alg": "RS256", "kid": key.kid, PLACEHOLDER_HEADER: placeholder});
        let input = format!("{}.{claims}", URL_SAFE_NO_PAD.encode(header.to_string()));
        let signature = key.signing.sign(input.as_bytes()).to_bytes();
        Some(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// Claims (base64url JSON) as signed: with fresh times, `iat`/`auth_time` now and `exp` an hour
/// on; with an `at_hash`, that one (when the claims have the member).
fn claims_as_sent(claims: &str, times: TokenTimes, at_hash: Option<&str>) -> Option<String> {
    let mut value = decode_part(claims)?;
    let map = value.as_object_mut()?;
    if times == TokenTimes::Now {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
        let times = [
            ("iat", now),
            ("auth_time", now),
            ("exp", now + FRESH_VALIDITY),
        ];
        set_present_claims(map, &times);
    }
    if let (Some(hash), Some(member)) = (at_hash, map.get_mut("at_hash")) {
        *member = Value::String(hash.to_owned());
    }
    Some(URL_SAFE_NO_PAD.encode(value.to_string()))
}

/// Each handed-out set of AWS credentials (`SessionToken` beside `Expiration`) expiring an hour
/// from now; true if any.
fn fresh_expiration(v: &mut Value) -> bool {
    credentials_expirations(v, &mut |expiration| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        *expiration = Value::from(now + FRESH_VALIDITY);
        true
    })
}

/// OIDC's `at_hash` of an access token signed RS256: base64url of the left half of its SHA-256.
fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The signing key in `pem`: an RSA key of 2048 bits or more (tokens are signed RS256, as
/// Cognito signs them), else why not.
fn read_key(pem: &str) -> Result<RsaPrivateKey, String> {
    let remake = "delete the file to have a new key made";
    let key = RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| {
        let kind = pem.lines().next().unwrap_or("").trim();
        match kind {
            "-----BEGIN PRIVATE KEY-----" => format!(
                "not an RSA key in PKCS#8 ({e}); replayed tokens are signed RS256: {remake}"
            ),
            _ => format!("not a PKCS#8 RSA key (it starts {kind:?}); replayed tokens are signed RS256: {remake}"),
        }
    })?;
    let bits = key.n().bits();
    if bits < MIN_KEY_BITS {
        return Err(format!(
            "an RSA key of {bits} bits is too weak to sign with (at least {MIN_KEY_BITS}): {remake}"
        ));
    }
    Ok(key)
}

/// Read the key from `dir`, or make it there (under the state directory's lock, so processes
/// starting at once agree on one key).
fn load_or_make(dir: &Path) -> Result<Key, KeyError> {
    let path = dir.join(KEY_FILE);
    let err = |message: String| KeyError {
        path: path.clone(),
        message,
    };
    crate::files::state_dir(dir)
        .map_err(|e| err(format!("state directory {}: {e}", dir.display())))?;
    let _lock = crate::files::lock_state_dir(dir).map_err(|e| err(e.to_string()))?;
    let private = if path.exists() {
        crate::files::check_private(&path).map_err(|e| err(e.to_string()))?;
        let pem = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
        read_key(&pem).map_err(err)?
    } else {
        let key =
            RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|e| err(e.to_string()))?;
        let pem = key
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .map_err(|e| err(e.to_string()))?;
        crate::files::write_private(&path, pem.as_bytes()).map_err(|e| err(e.to_string()))?;
        tracing::info!(key = %path.display(), "made the key that signs replayed JWTs");
        key
    };
    let public = private.to_public_key();
    let (n, e) = (public.n().to_bytes_be(), public.e().to_bytes_be());
    let kid = format!("cognito-vcr-{}", &hex(&Sha256::digest(&n))[..16]);
    let jwks = json!({"keys": [{
        "alg": "RS256",
        "e": URL_SAFE_NO_PAD.encode(&e),
        "kid": kid,
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(&n),
        "use": "sig",
    }]});
    Ok(Key {
        signing: SigningKey::<Sha256>::new(private),
        kid,
        jwks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::placeholder_of;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    use rsa::{BigUint, RsaPublicKey};

    fn placeholder() -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"real"}"#);
        let claims = URL_SAFE_NO_PAD.encode(r#"{"exp":4102444800,"iat":1700000000,"sub":"u1"}"#);
        format!("{header}.{claims}.{PLACEHOLDER_PREFIX}00ff")
    }

    #[test]
    fn signed_tokens_verify_with_the_jwks_and_read_back_to_their_placeholder() {
        let dir = tempfile::tempdir().unwrap();
        let signer = TokenSigner::new(dir.path(), TokenTimes::Recorded);
        let body =
            json!({"AuthenticationResult": {"IdToken": placeholder(), "TokenType": "Bearer"}});
        let signed = signer
            .sign_answer(body.to_string().as_bytes())
            .unwrap()
            .unwrap();
        let signed: Value = serde_json::from_slice(&signed).unwrap();
        let token = signed["AuthenticationResult"]["IdToken"].as_str().unwrap();
        assert_eq!(
            placeholder_of(token).as_deref(),
            Some(placeholder().as_str())
        );
        assert_eq!(signed["AuthenticationResult"]["TokenType"], "Bearer");

        let jwk = &signer.jwks().unwrap()["keys"][0];
        let int = |f: &str| {
            BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(jwk[f].as_str().unwrap()).unwrap())
        };
        let public = RsaPublicKey::new(int("n"), int("e")).unwrap();
        let verifier = VerifyingKey::<Sha256>::new(public);
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature =
            Signature::try_from(URL_SAFE_NO_PAD.decode(signature).unwrap().as_slice()).unwrap();
        assert!(verifier.verify(input.as_bytes(), &signature).is_ok());
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(input.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["kid"], jwk["kid"]);
        // A claim changed: the signature no longer verifies.
        let (h, _) = input.split_once('.').unwrap();
        let forged = format!(
            "{h}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"exp":4102444800,"iat":1700000000,"sub":"admin"}"#)
        );
        assert!(verifier.verify(forged.as_bytes(), &signature).is_err());

        // The same key on the next start (and in another process): the same token.
        let again = TokenSigner::new(dir.path(), TokenTimes::Recorded);
        let resigned = again
            .sign_answer(body.to_string().as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&resigned).unwrap(), signed);
        // Nothing to sign: nothing done; a token of someone else's: not ours.
        assert!(signer.sign_answer(br#"{"Users": []}"#).unwrap().is_none());
        assert!(placeholder_of(&placeholder()).is_none());
    }

    #[test]
    fn a_weak_or_other_kind_of_key_is_refused_saying_so() {
        let weak = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let pem = weak.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap();
        let why = read_key(&pem).err().unwrap();
        assert!(why.contains("1024 bits") && why.contains("2048"), "{why}");
        let ec = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIE\n-----END EC PRIVATE KEY-----\n";
        let why = read_key(ec).err().unwrap();
        assert!(
            why.contains("not a PKCS#8 RSA key") && why.contains("RS256"),
            "{why}"
        );
    }

    /// A placeholder JWT with these claims.
    fn placeholder_with(claims: &str) -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"real"}"#);
        format!(
            "{header}.{}.{PLACEHOLDER_PREFIX}00ee",
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    fn claims_of(token: &str) -> Value {
        let part = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    /// `body` as `signer` hands it out (something must be signed).
    fn handed_out(signer: &TokenSigner, body: &Value) -> Value {
        let out = signer.sign_answer(body.to_string().as_bytes()).unwrap();
        serde_json::from_slice(&out.unwrap()).unwrap()
    }

    #[test]
    fn an_id_token_names_the_hash_of_the_access_token_handed_out_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let signer = TokenSigner::new(dir.path(), TokenTimes::Recorded);
        let id = placeholder_with(r#"{"at_hash":"recorded-hash","sub":"u1","token_use":"id"}"#);
        let body = json!({"access_token": placeholder(), "id_token": id, "token_type": "Bearer"});
        let signed = handed_out(&signer, &body);
        let access = signed["access_token"].as_str().unwrap();
        let digest = Sha256::digest(access.as_bytes());
        let expected = URL_SAFE_NO_PAD.encode(&digest[..16]);
        let id_token = signed["id_token"].as_str().unwrap();
        assert_eq!(claims_of(id_token)["at_hash"], expected.as_str());
        assert_eq!(claims_of(id_token)["sub"], "u1");
        // Both are this proxy's, and read back to what is stored.
        assert_eq!(
            placeholder_of(access).as_deref(),
            Some(placeholder().as_str())
        );
        assert!(placeholder_of(id_token).is_some());
        // An id token without at_hash gets none.
        let plain = placeholder_with(r#"{"sub":"u1"}"#);
        let body = json!({"AccessToken": placeholder(), "IdToken": plain});
        let signed = handed_out(&signer, &body);
        assert!(claims_of(signed["IdToken"].as_str().unwrap())
            .get("at_hash")
            .is_none());
    }

    #[test]
    fn fresh_times_move_handed_out_credentials_too() {
        let dir = tempfile::tempdir().unwrap();
        let body = json!({"Credentials": {"AccessKeyId": "ASIACVCRAAAAAAAAAAAA",
            "Expiration": 4102444800_i64, "SessionToken": "cognito-vcr-placeholder-SessionToken-00"},
            "IdentityId": "us-east-1:x"})
        .to_string();
        let recorded = TokenSigner::new(dir.path(), TokenTimes::Recorded);
        assert!(recorded.sign_answer(body.as_bytes()).unwrap().is_none());
        let now_signer = TokenSigner::new(dir.path(), TokenTimes::Now);
        let fresh: Value =
            serde_json::from_slice(&now_signer.sign_answer(body.as_bytes()).unwrap().unwrap())
                .unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let expiration = fresh["Credentials"]["Expiration"].as_i64().unwrap();
        assert!(
            (now..=now + FRESH_VALIDITY + 60).contains(&expiration),
            "{fresh}"
        );
        assert!(expiration > now + FRESH_VALIDITY - 60);
    }

    #[test]
    fn fresh_times_are_around_now() {
        let dir = tempfile::tempdir().unwrap();
        let signer = TokenSigner::new(dir.path(), TokenTimes::Now);
        let body = json!({"AccessToken": placeholder()}).to_string();
        let signed: Value =
            serde_json::from_slice(&signer.sign_answer(body.as_bytes()).unwrap().unwrap()).unwrap();
        let token = signed["AccessToken"].as_str().unwrap();
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let iat = claims["iat"].as_i64().unwrap();
        assert!((now - 60..=now).contains(&iat), "{claims}");
        assert_eq!(claims["exp"].as_i64().unwrap(), iat + FRESH_VALIDITY);
        assert_eq!(claims["sub"], "u1");
        assert_eq!(
            placeholder_of(token).as_deref(),
            Some(placeholder().as_str())
        );
    }
}
