//! Where a call goes when the upstream is AWS: the service's host (user pools or identity
//! pools, by the operation), and the region, from the request's SigV4 credential scope, else its
//! `UserPoolId`, `IdentityPoolId` or `IdentityId` prefix, else the configured default.

use serde_json::Value;

use crate::cognito::wire::Service;

/// The endpoint of a Cognito service in a region (`cognito-idp`, `cognito-identity`).
pub fn aws_endpoint(service: Service, region: &str) -> String {
    format!(
        "https://{}.{region}.amazonaws.com",
        service.endpoint_prefix()
    )
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
        .or_else(|| {
            ["IdentityPoolId", "IdentityId"]
                .iter()
                .find_map(|member| body.get(*member).and_then(Value::as_str))
                .and_then(identity_region)
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

/// `us-east-1:0b8ac0a5-...` (an identity pool or identity id) → `us-east-1`.
fn identity_region(id: &str) -> Option<String> {
    id.split_once(':').map(|(r, _)| r.to_owned())
}

/// A region-shaped name (`us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-isoe-west-1`): two
/// letters, words of letters, a number; never an alias such as S3's `s3-us-west-2`, so a name
/// from a request can never steer the signed call to another service's host.
pub fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    r.len() <= 32
        && parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() <= 2
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
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
    fn identity_pools_calls_go_to_cognito_identity_in_the_region_of_their_ids() {
        let pool = json!({"IdentityPoolId": "eu-central-1:0b8ac0a5-5b0c-4e8e-8a8f-3a4b2c1d0e9f"});
        assert_eq!(region(None, &pool, None).as_deref(), Some("eu-central-1"));
        let identity = json!({"IdentityId": "ap-south-1:0b8ac0a5-5b0c-4e8e-8a8f-3a4b2c1d0e9f"});
        assert_eq!(region(None, &identity, None).as_deref(), Some("ap-south-1"));
        let evil = json!({"IdentityId": "evil.example.com/x:1"});
        assert_eq!(region(None, &evil, None), None);
        assert_eq!(
            aws_endpoint(Service::IdentityPools, "eu-central-1"),
            "https://cognito-identity.eu-central-1.amazonaws.com"
        );
    }

    #[test]
    fn only_region_shaped_names_are_regions() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "eu-isoe-west-1",
            "ap-southeast-3",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "s3-us-west-2",
            "us-east",
            "east-1",
            "us-east-1a",
            "us--1",
            "US-EAST-1",
            "",
            "us-east-123",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
        // S3's legacy endpoint alias for a bucket named cognito-idp is not a region.
        let body = json!({"UserPoolId": "s3-us-west-2_x"});
        assert_eq!(region(None, &body, None), None);
    }

    #[test]
    fn a_region_cannot_name_another_host() {
        let body = json!({"UserPoolId": "evil.example.com/x_Abc"});
        assert_eq!(region(None, &body, None), None);
        assert_eq!(
            aws_endpoint(Service::UserPools, "us-east-1"),
            "https://cognito-idp.us-east-1.amazonaws.com"
        );
    }
}
