#!/usr/bin/env python3
"""A read-only listing session for the diff tests: ListUsers in pages of 7 and ListGroups one
per page, through ENDPOINT_URL.

usage: diff_session.py ENDPOINT_URL POOL_ID
"""
import sys

from session import make_client, paginate


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    url, pool = argv
    c = make_client(url)
    paginate(c, "list_users", "Users", 7, UserPoolId=pool)
    paginate(c, "list_groups", "Groups", 1, UserPoolId=pool)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
