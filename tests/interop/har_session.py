#!/usr/bin/env python3
"""A boto3 session that makes what it uses, for the HAR tests: a pool, an app client, two users,
a listing, a user read, a sign-in with a password and a call with the access token it gave.

usage: har_session.py ENDPOINT_URL

Prints one JSON document of what a client would check (usernames, statuses, error codes, the
claims that name the user), never an id the upstream generated, a token or a password, so that
a live run and a replay of it print the same.

If COGNITO_VCR_SECRETS_OUT names a file, every secret the client held (passwords, tokens, JWT
signatures) is written there, one per line, for the test to look for in the cassette.
"""
import base64
import json
import os
import sys

from session import make_client, client_error

USERS = {"carol": "Carol-Secret-1!", "dave": "Dave-Secret-2!"}


def claims(jwt, names):
    payload = jwt.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    decoded = json.loads(base64.urlsafe_b64decode(payload))
    return {k: decoded.get(k) for k in names}


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    c = make_client(argv[0])
    held = list(USERS.values()) + ["Temp-Pass-0!", "Wrong-Guess-9!"]
    out = {}
    pool = c.create_user_pool(PoolName="vcr-har")["UserPool"]["Id"]
    client = c.create_user_pool_client(
        UserPoolId=pool,
        ClientName="vcr-har-app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    for name, password in USERS.items():
        c.admin_create_user(
            UserPoolId=pool,
            Username=name,
            TemporaryPassword="Temp-Pass-0!",
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"}],
        )
        c.admin_set_user_password(UserPoolId=pool, Username=name, Password=password, Permanent=True)
    out["listed"] = sorted(u["Username"] for u in c.list_users(UserPoolId=pool)["Users"])
    user = c.admin_get_user(UserPoolId=pool, Username="carol")
    out["carol"] = {
        "status": user["UserStatus"],
        "email": [a["Value"] for a in user["UserAttributes"] if a["Name"] == "email"],
    }
    result = c.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "carol", "PASSWORD": USERS["carol"]},
    )["AuthenticationResult"]
    tokens = [result["AccessToken"], result["IdToken"], result["RefreshToken"]]
    held += tokens + [t.split(".")[2] for t in tokens[:2]]
    out["id_token"] = claims(result["IdToken"], ["cognito:username", "email", "token_use"])
    out["access_token"] = claims(result["AccessToken"], ["username", "token_use"])
    out["get_user"] = c.get_user(AccessToken=result["AccessToken"])["Username"]
    out["wrong_password"] = client_error(
        lambda: c.initiate_auth(
            ClientId=client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "dave", "PASSWORD": "Wrong-Guess-9!"},
        )
    )
    secrets_out = os.environ.get("COGNITO_VCR_SECRETS_OUT")
    if secrets_out:
        with open(secrets_out, "w") as f:
            f.write("\n".join(held) + "\n")
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
