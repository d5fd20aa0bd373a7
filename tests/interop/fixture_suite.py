"""A suite that creates what it tests, the most common shape of a Cognito test suite.

A setup (in scope `setup`) creates a pool, an app client, 12 users and a group; each test runs in
a scope of its own (URL/scope/NAME) against what setup created, as a fixture shared by the tests
would: a full listing, a filtered listing, a group listing by pages, a sign-in (InitiateAuth, then
GetUser with the access token), and a create / list / delete. Recorded against a fresh moto each
time, so every run meets new pool, client and user ids and new dates.

  fixture_suite.py URL [--changed] TEST...     setup, then each TEST in its scope

`--changed`: user07's given_name is `Seventh` instead of `Gina` (one real change). Prints one JSON
document: {"setup": {"pool": ..., "client": ...}, TEST: what the test saw, ...}, and with
COGNITO_VCR_ID_TOKEN_OUT=FILE writes the sign-in's id token to FILE.
"""

import json
import os
import sys

from session import make_client as client

TESTS = ("listing", "filtered", "group", "signin", "mutation")
PASSWORD = "Passw0rd!x"


def setup(c, changed):
    pool = c.create_user_pool(PoolName="vcr-fixture-pool")["UserPool"]["Id"]
    app = c.create_user_pool_client(
        UserPoolId=pool,
        ClientName="vcr-fixture-app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    names = ["Ann", "Ben", "Cid", "Dee", "Eve", "Fay", "Gina", "Hal", "Ida", "Jo", "Kit", "Lu"]
    if changed:
        names[6] = "Seventh"
    for i, given in enumerate(names, start=1):
        username = f"user{i:02d}"
        c.admin_create_user(
            UserPoolId=pool,
            Username=username,
            UserAttributes=[
                {"Name": "email", "Value": f"{username}@example.com"},
                {"Name": "given_name", "Value": given},
            ],
            MessageAction="SUPPRESS",
        )
        c.admin_set_user_password(
            UserPoolId=pool, Username=username, Password=PASSWORD, Permanent=True
        )
    c.create_group(UserPoolId=pool, GroupName="team")
    for i in range(1, 6):
        c.admin_add_user_to_group(UserPoolId=pool, Username=f"user{i:02d}", GroupName="team")
    return {"pool": pool, "client": app}


def attrs(user, key="Attributes"):
    return {a["Name"]: a["Value"] for a in user.get(key, [])}


def listing(c, ids):
    pages = c.get_paginator("list_users").paginate(
        UserPoolId=ids["pool"], PaginationConfig={"PageSize": 5}
    )
    return [[u["Username"], attrs(u)["given_name"]] for p in pages for u in p["Users"]]


def filtered(c, ids):
    found = c.list_users(UserPoolId=ids["pool"], Filter='given_name = "Eve"')
    return [u["Username"] for u in found["Users"]]


def group(c, ids):
    pages = c.get_paginator("list_users_in_group").paginate(
        UserPoolId=ids["pool"], GroupName="team", PaginationConfig={"PageSize": 2}
    )
    return [u["Username"] for p in pages for u in p["Users"]]


def signin(c, ids):
    result = c.initiate_auth(
        ClientId=ids["client"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "user03", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    out = os.environ.get("COGNITO_VCR_ID_TOKEN_OUT")
    if out:
        with open(out, "w") as f:
            f.write(result["IdToken"])
    me = c.get_user(AccessToken=result["AccessToken"])
    return {"username": me["Username"], "email": attrs(me, "UserAttributes")["email"]}


def mutation(c, ids):
    pool = ids["pool"]
    c.admin_create_user(UserPoolId=pool, Username="temp", MessageAction="SUPPRESS")
    seen = c.admin_get_user(UserPoolId=pool, Username="temp")["Username"]
    c.admin_delete_user(UserPoolId=pool, Username="temp")
    return seen


def main():
    args = sys.argv[1:]
    url = args.pop(0)
    changed = "--changed" in args
    tests = [a for a in args if a != "--changed"]
    for t in tests:
        if t not in TESTS:
            sys.exit(f"unknown test {t}: one of {', '.join(TESTS)}")
    ids = setup(client(f"{url}/scope/setup"), changed)
    out = {"setup": ids}
    for t in tests:
        out[t] = globals()[t](client(f"{url}/scope/{t}"), ids)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
