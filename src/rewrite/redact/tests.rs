//! The redactor's tests: requests and answers as stored.

use super::placeholder::is_credentials_placeholder;
use super::*;
use crate::jwt::{is_placeholder_jwt, PLACEHOLDER_PREFIX};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;

fn jwt(claims: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k1"}"#);
    let claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

fn key() -> RequestKey {
    RequestKey::new("InitiateAuth", &json!({"AuthFlow": "USER_PASSWORD_AUTH"}))
}

#[test]
fn passwords_are_hashed_and_still_key_apart() {
    let r = Redactor::default();
    let right = r
        .request(&json!({"AuthParameters": {"USERNAME": "alice", "PASSWORD": "Right-1"}}))
        .into_owned();
    let wrong = r
        .request(&json!({"AuthParameters": {"USERNAME": "alice", "PASSWORD": "Wrong-1"}}))
        .into_owned();
    let text = right.to_string();
    assert!(!text.contains("Right-1"));
    assert!(right["AuthParameters"]["PASSWORD"]
        .as_str()
        .unwrap()
        .starts_with(REDACTED_PREFIX));
    assert_eq!(right["AuthParameters"]["USERNAME"], "alice");
    assert_ne!(right, wrong);
    // Another run (another redactor) hashes the same password the same way.
    assert_eq!(
        Redactor::default()
            .request(&json!({"AuthParameters": {"USERNAME": "alice", "PASSWORD": "Right-1"}}))
            .into_owned(),
        right
    );
    // Already redacted: unchanged (replay, re-import).
    assert_eq!(r.request(&right).into_owned(), right);
    let plain = json!({"UserPoolId": "p", "Limit": 7});
    assert!(
        matches!(r.request(&plain), Cow::Borrowed(_)),
        "no copy without secrets"
    );
}

#[test]
fn handed_out_tokens_become_placeholders_in_the_answer_and_in_later_requests() {
    let r = Redactor::default();
    let access = jwt(
        json!({"sub": "u-1", "username": "alice", "iat": 1795000000, "exp": 1795003600, "jti": "abc", "token_use": "access"}),
    );
    let answer = json!({"AuthenticationResult": {"AccessToken": access, "RefreshToken": "opaque-refresh", "ExpiresIn": 3600}, "ChallengeParameters": {}});
    let stored = r
        .response(&key(), 1, &serde_json::to_vec(&answer).unwrap())
        .unwrap();
    let stored: Value = serde_json::from_slice(&stored).unwrap();
    let placeholder = stored["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap();
    assert_ne!(placeholder, access);
    assert!(
        !String::from_utf8_lossy(&serde_json::to_vec(&stored).unwrap()).contains("opaque-refresh")
    );
    // Still a JWT with readable claims; volatile claims fixed; signature is ours.
    let parts: Vec<&str> = placeholder.split('.').collect();
    assert_eq!(parts.len(), 3);
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(
        (claims["username"].as_str(), claims["exp"].as_i64()),
        (Some("alice"), Some(4_102_444_800))
    );
    assert_ne!(claims["jti"], "abc");
    assert!(parts[2].starts_with(PLACEHOLDER_PREFIX));
    assert_eq!(mark_of(placeholder), Some(Mark::Placeholder));

    // The request that sends it back is stored with the placeholder.
    let later = r.request(&json!({"AccessToken": access})).into_owned();
    assert_eq!(later["AccessToken"], placeholder);
    let refresh = r
        .request(&json!({"AuthParameters": {"REFRESH_TOKEN": "opaque-refresh"}}))
        .into_owned();
    assert_eq!(
        refresh["AuthParameters"]["REFRESH_TOKEN"],
        stored["AuthenticationResult"]["RefreshToken"]
    );
    // A token this run never handed out is hashed, never stored as it came.
    let unknown = r
        .request(&json!({"AccessToken": "eyJ.unknown.token"}))
        .into_owned();
    assert!(unknown["AccessToken"]
        .as_str()
        .unwrap()
        .starts_with(REDACTED_PREFIX));
}

#[test]
fn placeholders_are_stable_across_runs() {
    let answer = serde_json::to_vec(&json!({"Session": "real-session-1"})).unwrap();
    let again = serde_json::to_vec(&json!({"Session": "real-session-2"})).unwrap();
    let a = Redactor::default().response(&key(), 1, &answer).unwrap();
    let b = Redactor::default().response(&key(), 1, &again).unwrap();
    assert_eq!(
        a, b,
        "derived from the place in the session, not from the value"
    );
    assert_ne!(a, Redactor::default().response(&key(), 2, &answer).unwrap());
}

#[test]
fn secret_codes_stay_base32_and_device_keys_are_not_hashed() {
    let r = Redactor::default();
    let stored = r
        .response(
            &key(),
            1,
            br#"{"SecretCode":"JBSWY3DPEHPK3PXP","Session":"s"}"#,
        )
        .unwrap();
    let v: Value = serde_json::from_slice(&stored).unwrap();
    let code = v["SecretCode"].as_str().unwrap();
    assert!(
        code.chars()
            .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)),
        "{code}"
    );
    let device = r
        .request(&json!({"DeviceKey": "us-east-1_abc"}))
        .into_owned();
    assert_eq!(device["DeviceKey"], "us-east-1_abc");
}

#[test]
fn server_random_challenge_values_keep_their_shape() {
    let r = Redactor::default();
    let answer = br#"{"ChallengeParameters":{"SRP_B":"0ac675f272eb4fe1","SALT":"fc69","SECRET_BLOCK":"400ab6e8-49f6-45d2","USERNAME":"carol"}}"#;
    let a: Value = serde_json::from_slice(&r.response(&key(), 1, answer).unwrap()).unwrap();
    let b: Value =
        serde_json::from_slice(&Redactor::default().response(&key(), 1, answer).unwrap()).unwrap();
    assert_eq!(a, b);
    let p = &a["ChallengeParameters"];
    assert_ne!(p["SRP_B"], "0ac675f272eb4fe1");
    assert!(p["SRP_B"]
        .as_str()
        .unwrap()
        .chars()
        .all(|c| c.is_ascii_hexdigit()));
    assert_eq!(p["SRP_B"].as_str().unwrap().len(), 16);
    assert_eq!(p["SECRET_BLOCK"].as_str().unwrap().matches('-').count(), 2);
    assert_eq!(p["USERNAME"], "carol");
}

#[test]
fn answers_without_secrets_are_left_alone_and_marks_are_found() {
    let r = Redactor::default();
    assert!(r.response(&key(), 1, br#"{"Users":[]}"#).is_none());
    let stored = r
        .response(
            &key(),
            1,
            br#"{"UserPoolClient":{"ClientId":"c","ClientSecret":"shh"}}"#,
        )
        .unwrap();
    let v: Value = serde_json::from_slice(&stored).unwrap();
    assert_eq!(
        marks(&v),
        [("UserPoolClient.ClientSecret".to_owned(), Mark::Redacted)]
    );
    let extra = Redactor::new(&["custom:ssn".to_owned()]);
    let req = extra
        .request(&json!({"Value": {"custom:ssn": "123-45-6789"}}))
        .into_owned();
    assert!(!req.to_string().contains("123-45-6789"));
    let attrs = json!({"UserAttributes": [{"Name": "custom:ssn", "Value": "123-45-6789"}, {"Name": "email", "Value": "a@x"}]});
    let stored = extra.request(&attrs).into_owned();
    assert!(!stored.to_string().contains("123-45-6789"));
    assert_eq!(stored["UserAttributes"][1]["Value"], "a@x");
    let answer = serde_json::to_vec(&attrs).unwrap();
    let stored = extra.response(&key(), 1, &answer).unwrap();
    assert!(!String::from_utf8(stored).unwrap().contains("123-45-6789"));
}

fn identity_key(operation: &str) -> RequestKey {
    RequestKey::new(
        operation,
        &json!({"IdentityId": "us-east-1:5a6b7c8d-1111-4222-8333-444455556666"}),
    )
}

#[test]
fn identity_pool_credentials_are_placeholders_of_their_shape_expiring_in_2100() {
    let r = Redactor::default();
    let answer = json!({"IdentityId": "us-east-1:5a6b7c8d-1111-4222-8333-444455556666",
        "Credentials": {"AccessKeyId": "ASIAQWERTYUIOPASDFGH",
            "SecretKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "SessionToken": "IQoJb3JpZ2luX2VjEXAMPLEsessiontoken", "Expiration": 1765020000.5}});
    let key = identity_key("AWSCognitoIdentityService.GetCredentialsForIdentity");
    let stored = r
        .response(&key, 1, &serde_json::to_vec(&answer).unwrap())
        .unwrap();
    let text = String::from_utf8(stored.clone()).unwrap();
    for real in ["ASIAQWERTYUIOPASDFGH", "wJalrXUtnFEMI", "IQoJb3JpZ2lu"] {
        assert!(!text.contains(real), "{text}");
    }
    let v: Value = serde_json::from_slice(&stored).unwrap();
    let c = &v["Credentials"];
    let key_id = c["AccessKeyId"].as_str().unwrap();
    assert!(key_id.len() == 20 && key_id.starts_with("ASIA"), "{key_id}");
    assert!(key_id
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    assert_eq!(c["SecretKey"].as_str().unwrap().len(), 40);
    assert_eq!(c["Expiration"], CREDENTIALS_EXPIRATION);
    for field in ["AccessKeyId", "SecretKey", "SessionToken"] {
        assert_eq!(
            mark_of(c[field].as_str().unwrap()),
            Some(Mark::Placeholder),
            "{field}"
        );
    }
    assert_eq!(
        v["IdentityId"], answer["IdentityId"],
        "an identity is not a credential"
    );
    // Another run, other credentials: the same bytes stored.
    let mut again = answer.clone();
    again["Credentials"]["AccessKeyId"] = json!("ASIAZXCVBNMQWERTYUIO");
    again["Credentials"]["Expiration"] = json!(1765029999);
    let second = Redactor::default()
        .response(&key, 1, &serde_json::to_vec(&again).unwrap())
        .unwrap();
    assert_eq!(stored, second);
    assert!(!is_credentials_placeholder("ASIAQWERTYUIOPASDFGH"));
}

#[test]
fn an_open_id_token_is_a_placeholder_only_where_it_is_one() {
    let r = Redactor::default();
    let token = jwt(
        json!({"sub": "us-east-1:5a6b", "aud": "us-east-1:pool", "iat": 1795000000, "exp": 1795000600}),
    );
    let answer =
        serde_json::to_vec(&json!({"IdentityId": "us-east-1:5a6b", "Token": token})).unwrap();
    for op in [
        "AWSCognitoIdentityService.GetOpenIdToken",
        "AWSCognitoIdentityService.GetOpenIdTokenForDeveloperIdentity",
    ] {
        let stored = r.response(&identity_key(op), 1, &answer).unwrap();
        let v: Value = serde_json::from_slice(&stored).unwrap();
        let placeholder = v["Token"].as_str().unwrap();
        assert!(is_placeholder_jwt(placeholder), "{placeholder}");
    }
    // A `Token` in another answer is not taken for one.
    assert!(r
        .response(&key(), 1, br#"{"Token":"not-a-credential"}"#)
        .is_none());
}

#[test]
fn logins_are_keyed_by_their_tokens_placeholders() {
    let r = Redactor::default();
    let id_token = jwt(json!({"sub": "u-1", "token_use": "id", "iat": 1795000000}));
    let answer = json!({"AuthenticationResult": {"IdToken": id_token}});
    let stored = r
        .response(&key(), 1, &serde_json::to_vec(&answer).unwrap())
        .unwrap();
    let stored: Value = serde_json::from_slice(&stored).unwrap();
    let placeholder = stored["AuthenticationResult"]["IdToken"].as_str().unwrap();
    let provider = "cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123";
    let get_id = json!({"IdentityPoolId": "us-east-1:p", "Logins": {provider: id_token}});
    assert!(r.names_any(&get_id));
    assert_eq!(r.secret_count(&get_id), 1);
    let keyed = r.request(&get_id).into_owned();
    assert_eq!(
        keyed["Logins"][provider], placeholder,
        "the token this run handed out"
    );
    assert_eq!(r.sent_placeholder(&keyed).as_deref(), Some("Logins"));
    // A replay: the client sends the placeholder (signed or not), keyed the same.
    assert_eq!(Redactor::default().request(&keyed).into_owned(), keyed);
    // A token nobody here handed out is hashed, never stored as it came.
    let other = json!({"Logins": {provider: jwt(json!({"sub": "u-2"}))}});
    let hashed = Redactor::default().request(&other).into_owned();
    assert!(hashed["Logins"][provider]
        .as_str()
        .unwrap()
        .starts_with(REDACTED_PREFIX));
    let mut secrets = Vec::new();
    r.sent_secrets(&get_id, &mut secrets);
    assert_eq!(secrets, [id_token]);
}
