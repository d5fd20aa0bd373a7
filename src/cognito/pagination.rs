//! Which operations paginate, with which token fields, and what their pages list (data, from the
//! botocore service model's paginators).

use serde_json::Value;

/// The token fields of one paginated operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenFields {
    /// The request field that carries the token back.
    pub request: &'static str,
    /// The response field that hands it out.
    pub response: &'static str,
}

/// One paginated operation: its token fields, the list its pages hold, and the member that
/// identifies an item of that list (`None`: the whole item is its identity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paginated {
    pub operation: &'static str,
    pub tokens: TokenFields,
    pub items: &'static str,
    pub identity: Option<&'static str>,
    /// The request member that sets the page size (`Limit` or `MaxResults`).
    pub page_size: &'static str,
}

const PAGINATION: TokenFields = TokenFields {
    request: "PaginationToken",
    response: "PaginationToken",
};
const NEXT: TokenFields = TokenFields {
    request: "NextToken",
    response: "NextToken",
};

const fn op(
    operation: &'static str,
    tokens: TokenFields,
    items: &'static str,
    identity: Option<&'static str>,
) -> Paginated {
    let page_size = match operation.as_bytes() {
        b"ListUsers"
        | b"ListUsersInGroup"
        | b"ListGroups"
        | b"AdminListGroupsForUser"
        | b"AdminListDevices"
        | b"ListDevices" => "Limit",
        _ => "MaxResults",
    };
    Paginated {
        operation,
        tokens,
        items,
        identity,
        page_size,
    }
}

/// Every paginated operation of the two services, sorted by operation: user pools from
/// botocore's `cognito-idp/2016-04-18/paginators-1.json`; identity pools (named with their
/// prefix) from `cognito-identity/2014-06-30`, whose paginators file lists only
/// ListIdentityPools but whose ListIdentities pages the same way (`NextToken`, `MaxResults`).
pub const TOKEN_TABLE: &[Paginated] = &[
    op(
        "AWSCognitoIdentityService.ListIdentities",
        NEXT,
        "Identities",
        Some("IdentityId"),
    ),
    op(
        "AWSCognitoIdentityService.ListIdentityPools",
        NEXT,
        "IdentityPools",
        Some("IdentityPoolId"),
    ),
    op("AdminListDevices", PAGINATION, "Devices", Some("DeviceKey")),
    op("AdminListGroupsForUser", NEXT, "Groups", Some("GroupName")),
    op(
        "AdminListUserAuthEvents",
        NEXT,
        "AuthEvents",
        Some("EventId"),
    ),
    op("AdminListUserSessions", NEXT, "Sessions", None),
    op("ListDevices", PAGINATION, "Devices", Some("DeviceKey")),
    op("ListGroups", NEXT, "Groups", Some("GroupName")),
    op(
        "ListIdentityProviders",
        NEXT,
        "Providers",
        Some("ProviderName"),
    ),
    op(
        "ListResourceServers",
        NEXT,
        "ResourceServers",
        Some("Identifier"),
    ),
    op("ListTerms", NEXT, "Terms", Some("TermsId")),
    op(
        "ListUserImportJobs",
        PAGINATION,
        "UserImportJobs",
        Some("JobId"),
    ),
    op("ListUserPoolClientSecrets", NEXT, "ClientSecrets", None),
    op(
        "ListUserPoolClients",
        NEXT,
        "UserPoolClients",
        Some("ClientId"),
    ),
    op("ListUserPoolReplicas", NEXT, "Replicas", None),
    op("ListUserPools", NEXT, "UserPools", Some("Id")),
    op("ListUserSessions", NEXT, "Sessions", None),
    op("ListUsers", PAGINATION, "Users", Some("Username")),
    op("ListUsersInGroup", NEXT, "Users", Some("Username")),
    op(
        "ListWebAuthnCredentials",
        NEXT,
        "Credentials",
        Some("CredentialId"),
    ),
];

/// The pagination of `operation`, if it paginates.
pub fn paginated(operation: &str) -> Option<&'static Paginated> {
    TOKEN_TABLE
        .binary_search_by(|p| p.operation.cmp(operation))
        .ok()
        .map(|i| &TOKEN_TABLE[i])
}

/// The token fields of `operation`, if it paginates.
pub fn fields(operation: &str) -> Option<TokenFields> {
    paginated(operation).map(|p| p.tokens)
}

/// The token a request carries, if any.
pub fn request_token<'a>(operation: &str, body: &'a Value) -> Option<&'a str> {
    body.get(fields(operation)?.request)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_complete() {
        assert!(
            TOKEN_TABLE
                .windows(2)
                .all(|w| w[0].operation < w[1].operation),
            "binary search needs order"
        );
        assert_eq!(paginated("ListUserPools").unwrap().identity, Some("Id"));
        assert_eq!(fields("ListUsers"), Some(PAGINATION));
        assert_eq!(fields("ListUsersInGroup"), Some(NEXT));
        assert_eq!(fields("ListUserPools"), Some(NEXT));
        assert_eq!(fields("AdminGetUser"), None);
        let pools = paginated("AWSCognitoIdentityService.ListIdentityPools").unwrap();
        assert_eq!(
            (pools.tokens, pools.items, pools.page_size),
            (NEXT, "IdentityPools", "MaxResults")
        );
        let identities = paginated("AWSCognitoIdentityService.ListIdentities").unwrap();
        assert_eq!(identities.identity, Some("IdentityId"));
        assert_eq!(
            fields("ListIdentities"),
            None,
            "only under its service's name"
        );
    }
}
