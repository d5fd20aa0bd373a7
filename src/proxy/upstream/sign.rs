//! SigV4 re-signing towards the upstream: the client signed for the proxy's address, so the
//! signature is replaced by one for the upstream host, made with credentials from the standard
//! AWS chain (aws-config) and the official signer (aws-sigv4).

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::Full;
use std::time::SystemTime;

use crate::error::SignError;

use crate::cognito::wire::Service;

/// The client's signature headers: dropped before re-signing (and never stored).
pub const CLIENT_SIGNATURE_HEADERS: &[&str] = &[
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// Signs requests with credentials from the standard AWS chain.
#[derive(Clone)]
pub struct Signer {
    credentials: SharedCredentialsProvider,
}

impl Signer {
    /// The default chain: environment, shared config and credentials files (profiles, SSO,
    /// credential_process), container and instance roles. Fails at once when it finds nothing.
    pub async fn from_environment() -> Result<Signer, SignError> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .load()
            .await;
        let credentials = config.credentials_provider().ok_or(SignError::NoProvider)?;
        let signer = Signer { credentials };
        signer.credentials().await?;
        Ok(signer)
    }

    /// Signer with fixed credentials (tests).
    pub fn fixed(credentials: aws_credential_types::Credentials) -> Signer {
        Signer {
            credentials: SharedCredentialsProvider::new(credentials),
        }
    }

    async fn credentials(&self) -> Result<aws_credential_types::Credentials, SignError> {
        self.credentials
            .provide_credentials()
            .await
            .map_err(|e| match e {
                // Nothing configured anywhere: the SDK's list of every source it tried says no
                // more than our message does.
                CredentialsError::CredentialsNotLoaded(_) => {
                    tracing::debug!(error = ?e, "no credentials in the chain");
                    SignError::NoCredentials
                }
                e => SignError::Credentials(e),
            })
    }

    /// Replace the client's signature with one for this request's upstream host, `service`
    /// (its SigV4 name: `cognito-idp`, `cognito-identity`) and `region`. `request` must already
    /// carry its final `host`, `content-type` and `x-amz-target`.
    pub async fn sign(
        &self,
        request: &mut hyper::Request<Full<Bytes>>,
        body: &[u8],
        service: Service,
        region: &str,
    ) -> Result<(), SignError> {
        strip_client_signature(request.headers_mut());
        let credentials = self.credentials().await?;
        let identity = credentials.into();
        let settings = SigningSettings::default();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(service.endpoint_prefix())
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| SignError::Signing(e.into()))?
            .into();
        let headers: Vec<(&str, &str)> = ["host", "content-type", "x-amz-target"]
            .iter()
            .filter_map(|name| Some((*name, request.headers().get(*name)?.to_str().ok()?)))
            .collect();
        let uri = request.uri().to_string();
        let signable =
            SignableRequest::new("POST", uri, headers.into_iter(), SignableBody::Bytes(body))
                .map_err(|e| SignError::Signing(e.into()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| SignError::Signing(e.into()))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}

/// Drop the signature the client made for the proxy's address.
pub fn strip_client_signature(headers: &mut hyper::HeaderMap) {
    for name in CLIENT_SIGNATURE_HEADERS {
        headers.remove(*name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signed_request_carries_a_fresh_signature_for_the_upstream() {
        let signer = Signer::fixed(aws_credential_types::Credentials::new(
            "AKIDUPSTREAM",
            "secret",
            Some("token".into()),
            None,
            "test",
        ));
        let mut req = hyper::Request::post("https://cognito-idp.eu-west-1.amazonaws.com/")
            .header("host", "cognito-idp.eu-west-1.amazonaws.com")
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "AWSCognitoIdentityProviderService.ListUsers")
            .header("authorization", "AWS4-HMAC-SHA256 Credential=CLIENT/20240101/eu-west-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=00")
            .header("x-amz-security-token", "client-token")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        signer
            .sign(&mut req, b"{}", Service::UserPools, "eu-west-1")
            .await
            .unwrap();
        let auth = req.headers()["authorization"].to_str().unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDUPSTREAM/"),
            "{auth}"
        );
        assert!(auth.contains("/eu-west-1/cognito-idp/aws4_request"));
        assert!(
            auth.contains(
                "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
            ),
            "{auth}"
        );
        assert_eq!(req.headers()["x-amz-security-token"], "token");
        assert!(req.headers().contains_key("x-amz-date"));
    }

    #[tokio::test]
    async fn an_identity_pools_call_is_signed_for_cognito_identity() {
        let signer = Signer::fixed(aws_credential_types::Credentials::new(
            "AKIDUPSTREAM",
            "secret",
            None,
            None,
            "test",
        ));
        let mut req = hyper::Request::post("https://cognito-identity.eu-west-1.amazonaws.com/")
            .header("host", "cognito-identity.eu-west-1.amazonaws.com")
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                "AWSCognitoIdentityService.ListIdentityPools",
            )
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        signer
            .sign(&mut req, b"{}", Service::IdentityPools, "eu-west-1")
            .await
            .unwrap();
        let auth = req.headers()["authorization"].to_str().unwrap();
        assert!(
            auth.contains("/eu-west-1/cognito-identity/aws4_request"),
            "{auth}"
        );
    }
}
