//! The Cognito user-pools service's own facts: the wire format, pagination, operations, error
//! names, and what creating calls generate.

pub mod errors;
pub mod generated;
pub mod operations;
pub mod pagination;
pub mod wire;
