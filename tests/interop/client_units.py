#!/usr/bin/env python3
"""App-client settings whose member names look like secrets but are not: CreateUserPoolClient
with TokenValidityUnits ({"AccessToken": "hours", ...}), then DescribeUserPoolClient and
ListUserPoolClients. Prints what came back (without the generated client id and dates).

usage: client_units.py ENDPOINT_URL POOL_ID
"""
import json
import sys

from session import make_client


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    url, pool = argv
    c = make_client(url)
    units = {"AccessToken": "hours", "IdToken": "minutes", "RefreshToken": "days"}
    created = c.create_user_pool_client(
        UserPoolId=pool,
        ClientName="units-app",
        AccessTokenValidity=2,
        IdTokenValidity=30,
        RefreshTokenValidity=7,
        TokenValidityUnits=units,
    )["UserPoolClient"]
    described = c.describe_user_pool_client(UserPoolId=pool, ClientId=created["ClientId"])
    listed = c.list_user_pool_clients(UserPoolId=pool, MaxResults=60)
    out = {
        "created": created.get("TokenValidityUnits"),
        "described": described["UserPoolClient"].get("TokenValidityUnits"),
        "validity": [described["UserPoolClient"].get(k) for k in ("AccessTokenValidity", "IdTokenValidity", "RefreshTokenValidity")],
        "listed": sorted(cl["ClientName"] for cl in listed["UserPoolClients"]),
    }
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
