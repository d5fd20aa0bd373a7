#!/usr/bin/env python3
"""Seed a Cognito user-pools endpoint (moto, or the proxy in front of it).

usage: seed.py ENDPOINT_URL

Creates, deterministically:
  * user pools vcr-pool-1 .. vcr-pool-5
  * in vcr-pool-1: users user001 .. user150 (email, name, given_name,
    family_name; MessageAction SUPPRESS), groups admins/editors/viewers,
    and user001 .. user070 in `editors`.

Prints one JSON object to stdout: {"pool_id": <vcr-pool-1's id>, "pool_ids": [...]}.
Progress and timing go to stderr.
"""
import json
import sys
import time

from session import make_client

POOL_NAMES = [f"vcr-pool-{i}" for i in range(1, 6)]
USER_COUNT = 150
GROUPS = [
    ("admins", "Administrators", 1),
    ("editors", "Can edit content", 2),
    ("viewers", "Read-only access", 3),
]
EDITORS = 70

GIVEN = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi",
         "Ivan", "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert",
         "Sybil", "Trent", "Victor", "Walter"]
FAMILY = ["Anderson", "Brown", "Clark", "Davis", "Evans", "Garcia", "Harris",
          "Jackson", "Khan", "Lopez", "Martin", "Nguyen", "O'Neil", "Patel",
          "Quinn", "Rossi", "Smith", "Taylor", "Young", "Zhang", "Müller"]


def user_name(i):
    return f"user{i:03d}"


def user_attributes(i):
    given = GIVEN[(i * 5) % len(GIVEN)]
    family = FAMILY[(i * 4 + 2) % len(FAMILY)]
    return [
        {"Name": "email", "Value": f"{user_name(i)}@example.com"},
        {"Name": "name", "Value": f"{given} {family}"},
        {"Name": "given_name", "Value": given},
        {"Name": "family_name", "Value": family},
    ]


def main(argv):
    if len(argv) != 1:
        print("usage: seed.py ENDPOINT_URL", file=sys.stderr)
        return 2
    client = make_client(argv[0])
    started = time.monotonic()

    pool_ids = []
    for name in POOL_NAMES:
        resp = client.create_user_pool(PoolName=name)
        pool_ids.append(resp["UserPool"]["Id"])
    pool_id = pool_ids[0]

    for group, description, precedence in GROUPS:
        client.create_group(
            UserPoolId=pool_id,
            GroupName=group,
            Description=description,
            Precedence=precedence,
        )

    for i in range(1, USER_COUNT + 1):
        client.admin_create_user(
            UserPoolId=pool_id,
            Username=user_name(i),
            UserAttributes=user_attributes(i),
            MessageAction="SUPPRESS",
        )

    for i in range(1, EDITORS + 1):
        client.admin_add_user_to_group(
            UserPoolId=pool_id, Username=user_name(i), GroupName="editors"
        )

    elapsed = time.monotonic() - started
    calls = len(POOL_NAMES) + len(GROUPS) + USER_COUNT + EDITORS
    print(f"seed.py: {calls} calls in {elapsed:.1f}s", file=sys.stderr)
    print(json.dumps({"pool_id": pool_id, "pool_ids": pool_ids}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
