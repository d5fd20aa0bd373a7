//! The Cognito services' own facts: the wire format, the OAuth2/OIDC endpoints, pagination,
//! operations, error names, and what creating calls generate.

pub mod errors;
pub mod generated;
pub mod oauth;
pub mod operations;
pub mod pagination;
pub mod wire;
