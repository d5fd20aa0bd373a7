//! Where a call goes when the upstream is AWS: the region, from the request's SigV4 credential
//! scope, else its `UserPoolId` prefix, else the configured default.

use serde_json::Value;

/// The Cognito user pools endpoint of a region.
pub fn aws_endpoint(region: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com")
}

/// The region a call is for, if any source names one.
pub fn region(authorization: Option<&str>, body: &Value, default: Option<&str>) -> Option<String> {
    authorization
        .and_then(scope_region)
        .or_else(|| {
            body.get("UserPoolId")
                .and_then(Value::as_str)
                .and_then(pool_region)
        })
        .or_else(|| default.map(str::to_owned))
        .filter(|r| is_region(r))
}

/// `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/cognito-idp/aws4_request, ...` → `us-east-1`.
fn scope_region(authorization: &str) -> Option<String> {
    let credential = authorization.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    let mut parts = scope.split('/');
    let (_key, _date, region) = (parts.next()?, parts.next()?, parts.next()?);
    Some(region.to_owned())
}

/// `us-east-1_AbCdEf` → `us-east-1`.
fn pool_region(pool: &str) -> Option<String> {
    pool.split_once('_').map(|(r, _)| r.to_owned())
}

/// Letters, digits and dashes only: a region name can never steer the host elsewhere.
fn is_region(r: &str) -> bool {
    !r.is_empty()
        && r.len() < 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-2/cognito-idp/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";

    #[test]
    fn the_credential_scope_comes_first() {
        let body = json!({"UserPoolId": "us-east-1_Abc"});
        assert_eq!(
            region(Some(AUTH), &body, Some("ap-south-1")).as_deref(),
            Some("eu-west-2")
        );
    }

    #[test]
    fn then_the_pool_id_then_the_default() {
        let body = json!({"UserPoolId": "us-east-1_Abc"});
        assert_eq!(
            region(None, &body, Some("ap-south-1")).as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            region(None, &json!({"ClientId": "c"}), Some("ap-south-1")).as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(region(None, &json!({}), None), None);
    }

    #[test]
    fn a_region_cannot_name_another_host() {
        let body = json!({"UserPoolId": "evil.example.com/x_Abc"});
        assert_eq!(region(None, &body, None), None);
        assert_eq!(
            aws_endpoint("us-east-1"),
            "https://cognito-idp.us-east-1.amazonaws.com"
        );
    }
}
