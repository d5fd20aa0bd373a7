#!/usr/bin/env python3
"""Pools made outside a recording, then listed through it, for the virtual-dates test.

usage: dates_session.py UPSTREAM_URL PROXY_URL

Creates user pools vcr-dates-1 .. vcr-dates-4 directly at UPSTREAM_URL (not recorded), then
lists them through PROXY_URL (boto3's ListUserPools paginator, 2 a page) and describes each:
the recording first sees their dates in a read. Prints the pool names it listed, as JSON.
"""
import json
import sys

from session import make_client

NAMES = [f"vcr-dates-{i}" for i in range(1, 5)]


def main(upstream, proxy):
    direct = make_client(upstream)
    for name in NAMES:
        direct.create_user_pool(PoolName=name)
    through = make_client(proxy)
    pools = [
        pool
        for page in through.get_paginator("list_user_pools").paginate(
            MaxResults=60, PaginationConfig={"PageSize": 2}
        )
        for pool in page["UserPools"]
        if pool["Name"] in NAMES
    ]
    for pool in pools:
        through.describe_user_pool(UserPoolId=pool["Id"])
    json.dump([pool["Name"] for pool in pools], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
