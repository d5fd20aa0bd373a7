//! What a creating call makes the upstream generate: the identifiers in its answer that the
//! client did not choose (the pool id, an app client's id and secret, a user's `sub`), by
//! operation. Data from the Cognito API reference; what is not listed here is the client's own.

use serde_json::Value;

/// The shape a generated value has, which its stand-in keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `<region>_<alphanumerics>`: the region stays, the rest keeps its character classes.
    PoolId,
    /// A UUID (`sub`): a version 4 UUID.
    Uuid,
    /// `<region>:<uuid>` (an identity pool's or an identity's id): the region stays, the UUID
    /// stays a UUID.
    RegionUuid,
    /// Anything else (an app client id, a secret): each character keeps its class.
    Opaque,
}

/// One generated value in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated<'a> {
    /// Where it is, as a dotted path (`UserPoolClient.ClientId`): part of what its stand-in is
    /// derived from.
    pub field: &'static str,
    pub value: &'a str,
    pub shape: Shape,
}

/// The values `operation`'s successful `answer` holds that the upstream generated.
pub fn generated<'a>(operation: &str, answer: &'a Value) -> Vec<Generated<'a>> {
    let at = |path: &[&str]| -> Option<&'a str> {
        path.iter()
            .try_fold(answer, |v, member| v.get(*member))
            .and_then(Value::as_str)
    };
    let mut out = Vec::new();
    let mut push = |field: &'static str, value: Option<&'a str>, shape: Shape| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            out.push(Generated {
                field,
                value,
                shape,
            });
        }
    };
    match operation {
        "CreateUserPool" => push("UserPool.Id", at(&["UserPool", "Id"]), Shape::PoolId),
        "CreateUserPoolClient" => {
            let client = ["UserPoolClient", "ClientId"];
            push("UserPoolClient.ClientId", at(&client), Shape::Opaque);
            let secret = ["UserPoolClient", "ClientSecret"];
            push("UserPoolClient.ClientSecret", at(&secret), Shape::Opaque);
        }
        "AdminCreateUser" => {
            let sub = answer
                .pointer("/User/Attributes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|a| a.get("Name").and_then(Value::as_str) == Some("sub"))
                .and_then(|a| a.get("Value"))
                .and_then(Value::as_str);
            push("User.sub", sub, Shape::Uuid);
            // In a pool whose users sign in by email or phone, the username is generated too
            // (a UUID, mostly the `sub` itself).
            let username = at(&["User", "Username"]).filter(|u| is_uuid(u));
            push("User.Username", username, Shape::Uuid);
        }
        "SignUp" => push("UserSub", at(&["UserSub"]), Shape::Uuid),
        "AWSCognitoIdentityService.CreateIdentityPool" => {
            push("IdentityPoolId", at(&["IdentityPoolId"]), Shape::RegionUuid)
        }
        "AWSCognitoIdentityService.GetId" => {
            push("IdentityId", at(&["IdentityId"]), Shape::RegionUuid)
        }
        _ => {}
    }
    out
}

/// Whether `operation`'s answer may hold values the upstream generated ([`generated`]).
pub fn generates(operation: &str) -> bool {
    !naming_members(operation).is_empty()
}

/// The request members that name what a creating call creates (the pool's name; the app
/// client's or user's name within its pool): what a stand-in of a generated value is derived
/// from, so that the same thing created with other settings or attributes keeps its identity.
pub fn naming_members(operation: &str) -> &'static [&'static str] {
    match operation {
        "CreateUserPool" => &["PoolName"],
        "CreateUserPoolClient" => &["UserPoolId", "ClientName"],
        "AdminCreateUser" => &["UserPoolId", "Username"],
        "SignUp" => &["ClientId", "Username"],
        "AWSCognitoIdentityService.CreateIdentityPool" => &["IdentityPoolName"],
        // A signed-in identity is named by its logins (their tokens as placeholders).
        "AWSCognitoIdentityService.GetId" => &["IdentityPoolId", "Logins"],
        _ => &[],
    }
}

/// Whether each call of `operation` may make a new value though its naming members are the
/// same: GetId without logins makes a new unauthenticated identity on every call, so the
/// occurrence names it too (a repeated GetId that finds its identity again is known already).
pub fn new_on_every_call(operation: &str) -> bool {
    operation == "AWSCognitoIdentityService.GetId"
}

/// `8-4-4-4-12` hexadecimal digits.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn creating_calls_name_what_the_upstream_made() {
        let pool = json!({"UserPool": {"Id": "us-east-1_AbC123", "Name": "mine"}});
        assert_eq!(
            generated("CreateUserPool", &pool),
            vec![Generated {
                field: "UserPool.Id",
                value: "us-east-1_AbC123",
                shape: Shape::PoolId
            }]
        );
        let client = json!({"UserPoolClient": {"ClientId": "abc", "ClientSecret": "s3", "ClientName": "app"}});
        let found: Vec<&str> = generated("CreateUserPoolClient", &client)
            .iter()
            .map(|g| g.value)
            .collect();
        assert_eq!(found, ["abc", "s3"]);
        let sub = "56e9f9ef-20bf-4e44-9ba1-f29cb61f46b9";
        let user = json!({"User": {"Username": "alice", "Attributes": [
            {"Name": "email", "Value": "a@x.y"}, {"Name": "sub", "Value": sub}]}});
        let found: Vec<&str> = generated("AdminCreateUser", &user)
            .iter()
            .map(|g| g.value)
            .collect();
        assert_eq!(found, [sub], "a username the client chose is its own");
        let by_email =
            json!({"User": {"Username": sub, "Attributes": [{"Name": "sub", "Value": sub}]}});
        assert_eq!(generated("AdminCreateUser", &by_email).len(), 2);
        assert_eq!(
            generated("SignUp", &json!({"UserSub": sub, "UserConfirmed": false}))[0].value,
            sub
        );
        assert!(generated("ListUsers", &user).is_empty());
        let pool = "us-east-1:0b8ac0a5-5b0c-4e8e-8a8f-3a4b2c1d0e9f";
        let created = json!({"IdentityPoolId": pool, "IdentityPoolName": "app"});
        assert_eq!(
            generated("AWSCognitoIdentityService.CreateIdentityPool", &created),
            vec![Generated {
                field: "IdentityPoolId",
                value: pool,
                shape: Shape::RegionUuid
            }]
        );
        let id = json!({"IdentityId": "us-east-1:5a6b7c8d-1111-4222-8333-444455556666"});
        assert_eq!(generated("AWSCognitoIdentityService.GetId", &id).len(), 1);
        assert!(
            generated("GetId", &id).is_empty(),
            "not a user-pools operation"
        );
        assert!(generated("AWSCognitoIdentityService.DescribeIdentityPool", &created).is_empty());
        assert!(generated("CreateUserPool", &json!({})).is_empty());
    }

    #[test]
    fn uuids_are_told_from_other_names() {
        assert!(is_uuid("56e9f9ef-20bf-4e44-9ba1-f29cb61f46b9"));
        assert!(!is_uuid("alice"));
        assert!(!is_uuid("56e9f9ef-20bf-4e44-9ba1-f29cb61f46bz"));
        assert!(!is_uuid("56e9f9ef20bf4e449ba1f29cb61f46b9"));
    }
}
