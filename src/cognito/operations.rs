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

pub fn is_unsigned(operation: &str) -> bool {
    UNSIGNED.contains(&operation)
}

/// Read-only operations, by name; the few `Get*` calls with side effects are excluded.
pub fn is_read_only(operation: &str) -> bool {
    const SIDE_EFFECTS: &[&str] = &[
        "GetUserAttributeVerificationCode",
        "GetTokensFromRefreshToken",
    ];
    ["List", "Describe", "Get", "AdminGet", "AdminList"]
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
    }

    #[test]
    fn only_reads_are_re_sent() {
        for op in [
            "ListUsers",
            "DescribeUserPool",
            "GetUser",
            "AdminGetUser",
            "AdminListGroupsForUser",
        ] {
            assert!(is_read_only(op), "{op}");
        }
        for op in [
            "AdminCreateUser",
            "AdminDeleteUser",
            "GetUserAttributeVerificationCode",
            "InitiateAuth",
            "UpdateUserPool",
        ] {
            assert!(!is_read_only(op), "{op}");
        }
    }
}
