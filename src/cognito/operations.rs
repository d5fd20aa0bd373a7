//! Operation lists: the ones AWS does not sign, and the read-only ones.

/// Operations AWS does not sign (the client authenticates with a token or nothing).
pub const UNSIGNED: &[&str] = &[
    "AssociateSoftwareToken",
    "ChangePassword",
    "CompleteWebAuthnRegistration",
    "ConfirmDevice",
    "ConfirmForgotPassword",
    "ConfirmSignUp",
    "DeleteUser",
    "DeleteUserAttributes",
    "DeleteWebAuthnCredential",
    "ForgetDevice",
    "ForgotPassword",
    "GetDevice",
    "GetTokensFromRefreshToken",
    "GetUser",
    "GetUserAttributeVerificationCode",
    "GetUserAuthFactors",
    "GlobalSignOut",
    "InitiateAuth",
    "ListDevices",
    "ListUserSessions",
    "ListWebAuthnCredentials",
    "ResendConfirmationCode",
    "RespondToAuthChallenge",
    "RevokeToken",
    "RevokeUserSession",
    "SetUserMFAPreference",
    "SetUserSettings",
    "SignUp",
    "StartWebAuthnRegistration",
    "UpdateAuthEventFeedback",
    "UpdateDeviceStatus",
    "UpdateUserAttributes",
    "VerifySoftwareToken",
    "VerifyUserAttribute",
];

/// Identity-pools operations AWS does not sign (botocore's `authtype: none`): an app gets an
/// identity and its credentials with no AWS credentials of its own.
pub const UNSIGNED_IDENTITY: &[&str] = &[
    "AWSCognitoIdentityService.GetCredentialsForIdentity",
    "AWSCognitoIdentityService.GetId",
    "AWSCognitoIdentityService.GetOpenIdToken",
    "AWSCognitoIdentityService.UnlinkIdentity",
];

pub fn is_unsigned(operation: &str) -> bool {
    UNSIGNED.contains(&operation) || UNSIGNED_IDENTITY.contains(&operation)
}

/// Read-only operations, by name; the few `Get*` calls with side effects are excluded.
pub fn is_read_only(operation: &str) -> bool {
    const SIDE_EFFECTS: &[&str] = &[
        "GetUserAttributeVerificationCode",
        "GetTokensFromRefreshToken",
        // Identity pools: each call may create an identity or hand out new credentials.
        "GetId",
        "GetCredentialsForIdentity",
        "GetOpenIdToken",
        "GetOpenIdTokenForDeveloperIdentity",
    ];
    let operation = crate::cognito::wire::bare(operation);
    ["List", "Describe", "Get", "AdminGet", "AdminList", "Lookup"]
        .iter()
        .any(|p| operation.starts_with(p))
        && !SIDE_EFFECTS.contains(&operation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unsigned_list_has_the_34_operations() {
        assert_eq!(UNSIGNED.len(), 34);
        assert!(is_unsigned("InitiateAuth") && is_unsigned("GetUser"));
        assert!(!is_unsigned("ListUsers") && !is_unsigned("AdminInitiateAuth"));
        assert!(is_unsigned("AWSCognitoIdentityService.GetId"));
        assert!(is_unsigned(
            "AWSCognitoIdentityService.GetCredentialsForIdentity"
        ));
        assert!(
            !is_unsigned("GetId"),
            "a user-pools name is not an identity-pools one"
        );
        assert!(!is_unsigned("AWSCognitoIdentityService.ListIdentityPools"));
    }

    #[test]
    fn only_reads_are_re_sent() {
        for op in [
            "ListUsers",
            "DescribeUserPool",
            "GetUser",
            "AdminGetUser",
            "AdminListGroupsForUser",
            "AWSCognitoIdentityService.ListIdentities",
            "AWSCognitoIdentityService.DescribeIdentity",
        ] {
            assert!(is_read_only(op), "{op}");
        }
        for op in [
            "AdminCreateUser",
            "AdminDeleteUser",
            "GetUserAttributeVerificationCode",
            "InitiateAuth",
            "UpdateUserPool",
            "AWSCognitoIdentityService.GetId",
            "AWSCognitoIdentityService.GetCredentialsForIdentity",
        ] {
            assert!(!is_read_only(op), "{op}");
        }
    }
}
