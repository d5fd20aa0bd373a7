#!/usr/bin/env python3
"""Make a pool, an app client and a confirmed user `carol` for auth_session.py (directly against
moto, not through the proxy). Prints {"pool_id": ..., "client_id": ...}.

usage: auth_setup.py ENDPOINT_URL
"""
import json
import sys

from session import make_client


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    c = make_client(argv[0])
    pool = c.create_user_pool(PoolName="vcr-auth")["UserPool"]["Id"]
    client = c.create_user_pool_client(
        UserPoolId=pool,
        ClientName="vcr-app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    c.admin_create_user(
        UserPoolId=pool,
        Username="carol",
        TemporaryPassword="Carol-Temp-0!",
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "carol@example.com"}],
    )
    c.admin_set_user_password(UserPoolId=pool, Username="carol", Password="Carol-Secret-1!", Permanent=True)
    json.dump({"pool_id": pool, "client_id": client}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
