//! The Cognito user-pools service's own facts: the wire format.

pub mod errors;
pub mod operations;
pub mod pagination;
pub mod wire;
