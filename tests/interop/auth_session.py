#!/usr/bin/env python3
"""A sign-in session with boto3, for the secrets tests: passwords, tokens and SRP values.

usage: auth_session.py [--sign-in-only] [--filter-spelling N] ENDPOINT_URL POOL_ID CLIENT_ID

Prints one JSON document of what a client would check (error codes, usernames, decoded JWT
claims less the ones that change on every sign-in), never a token or password, so that a live
run and its replays print the same. Each run sends a new random SRP_A, PASSWORD_CLAIM_SIGNATURE
and TIMESTAMP, as a real SRP client does.

If COGNITO_VCR_SECRETS_OUT names a file, every secret value the client held (passwords, tokens,
JWT signatures) is written there, one per line, for the test to look for in the cassette.

--sign-in-only: only the calls on the existing user carol (no user created: a re-recording of
it against an unchanged upstream is expected to give the same cassette).
--filter-spelling N: spell the ListUsers filter differently (0, 1 or 2); all key the same.
"""
import base64
import json
import os
import secrets
import sys
import time

from session import make_client

FILTERS = ['email ^= "carol"', 'email^="carol"', '"email"   ^=  "carol"']
VOLATILE_CLAIMS = {"iat", "exp", "auth_time", "jti", "origin_jti", "event_id"}


def claims(jwt):
    payload = jwt.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    decoded = json.loads(base64.urlsafe_b64decode(payload))
    return {k: v for k, v in decoded.items() if k not in VOLATILE_CLAIMS}


def error_code(call):
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as err:
        return err.response["Error"]["Code"]
    raise SystemExit("auth_session.py: expected an error")


def main(argv):
    sign_in_only = "--sign-in-only" in argv
    argv = [a for a in argv if a != "--sign-in-only"]
    spelling = 0
    if "--filter-spelling" in argv:
        i = argv.index("--filter-spelling")
        spelling = int(argv[i + 1])
        del argv[i : i + 2]
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    url, pool, client_id = argv
    c = make_client(url)
    held = []
    out = {}

    def sign_in(password):
        return c.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "carol", "PASSWORD": password},
        )

    held += ["Carol-Secret-1!", "Wrong-Guess-9!"]
    out["wrong_password"] = error_code(lambda: sign_in("Wrong-Guess-9!"))
    result = sign_in("Carol-Secret-1!")["AuthenticationResult"]
    held += [result["AccessToken"], result["IdToken"], result["RefreshToken"]]
    out["id_token_claims"] = claims(result["IdToken"])
    out["access_token_claims"] = claims(result["AccessToken"])
    user = c.get_user(AccessToken=result["AccessToken"])
    out["get_user"] = {"username": user["Username"], "email": [a["Value"] for a in user["UserAttributes"] if a["Name"] == "email"]}

    refreshed = c.initiate_auth(
        ClientId=client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]},
    )["AuthenticationResult"]
    held += [refreshed["AccessToken"], refreshed["IdToken"]]
    out["refreshed_claims"] = claims(refreshed["AccessToken"])

    # SRP: a new random SRP_A per run; the proxy keys the call without it.
    challenge = c.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_SRP_AUTH",
        AuthParameters={"USERNAME": "carol", "SRP_A": secrets.token_hex(128)},
    )
    held.append(challenge["Session"])
    out["srp_challenge"] = challenge["ChallengeName"]
    answer = c.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="PASSWORD_VERIFIER",
        Session=challenge["Session"],
        ChallengeResponses={
            "USERNAME": "carol",
            "PASSWORD_CLAIM_SECRET_BLOCK": challenge["ChallengeParameters"]["SECRET_BLOCK"],
            "PASSWORD_CLAIM_SIGNATURE": secrets.token_hex(32),
            "TIMESTAMP": time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime()),
        },
    )["AuthenticationResult"]
    held += [answer["AccessToken"], answer["IdToken"], answer["RefreshToken"]]
    out["srp_claims"] = claims(answer["IdToken"])

    listed = c.list_users(UserPoolId=pool, Filter=FILTERS[spelling])
    out["filtered"] = [u["Username"] for u in listed["Users"]]

    c.global_sign_out(AccessToken=answer["AccessToken"])
    out["after_sign_out"] = error_code(lambda: c.get_user(AccessToken=answer["AccessToken"]))

    if not sign_in_only:
        held += ["Dave-Temp-2!", "Dave-Secret-3!"]
        c.admin_create_user(
            UserPoolId=pool,
            Username="dave",
            TemporaryPassword="Dave-Temp-2!",
            MessageAction="SUPPRESS",
        )
        c.admin_set_user_password(UserPoolId=pool, Username="dave", Password="Dave-Secret-3!", Permanent=True)
        dave = sign_in_as(c, client_id, "dave", "Dave-Secret-3!")
        held += [dave["AccessToken"], dave["IdToken"], dave["RefreshToken"]]
        out["dave"] = c.get_user(AccessToken=dave["AccessToken"])["Username"]

    target = os.environ.get("COGNITO_VCR_SECRETS_OUT")
    if target:
        signatures = [h.split(".")[2] for h in held if h.count(".") == 2]
        with open(target, "a") as f:
            f.write("\n".join(held + signatures) + "\n")
    json.dump(out, sys.stdout, sort_keys=True, indent=1)
    sys.stdout.write("\n")
    return 0


def sign_in_as(c, client_id, username, password):
    return c.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )["AuthenticationResult"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
