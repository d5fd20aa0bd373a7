#!/usr/bin/env python3
"""Change the upstream between two recordings, directly (not through the proxy): add a user that
sorts first, change one user's email, delete a user, add a group.

usage: diff_mutate.py ENDPOINT_URL POOL_ID
"""
import sys

from session import make_client


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    url, pool = argv
    c = make_client(url)
    c.admin_create_user(UserPoolId=pool, Username="aaa-first", MessageAction="SUPPRESS")
    c.admin_update_user_attributes(
        UserPoolId=pool, Username="user005", UserAttributes=[{"Name": "email", "Value": "changed@example.com"}]
    )
    c.admin_delete_user(UserPoolId=pool, Username="user010")
    c.create_group(UserPoolId=pool, GroupName="auditors")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
