#!/usr/bin/env python3
"""The user pool, app client, user `erin` and identity pool of amplify/session.mjs, made directly
against moto (not through the proxy). Prints `{"user_pool", "client", "identity_pool"}`.

usage: amplify_setup.py URL
"""
import json
import sys

from identity_session import client


def main(argv):
    (url,) = argv
    idp, ci = client(url, "cognito-idp"), client(url, "cognito-identity")
    pool = idp.create_user_pool(PoolName="amplify")["UserPool"]["Id"]
    app = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="erin", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool, Username="erin", Password="Erin-Secret-1!", Permanent=True
    )
    identity_pool = ci.create_identity_pool(
        IdentityPoolName="amplify",
        AllowUnauthenticatedIdentities=True,
        CognitoIdentityProviders=[
            {"ProviderName": f"cognito-idp.us-east-1.amazonaws.com/{pool}", "ClientId": app}
        ],
    )["IdentityPoolId"]
    print(json.dumps({"user_pool": pool, "client": app, "identity_pool": identity_pool}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
