#!/usr/bin/env python3
"""Walk recorded listings at page sizes they were not recorded at, with boto3's paginators.

usage: repage_session.py ENDPOINT_URL POOL_ID

For the demo cassette (ListUsers recorded by 7, ListUsersInGroup by 10, ListUserPools by 2,
ListGroups by 1 and whole): each listing is walked at its recorded size, then at 1, 10 and 60,
and cut with MaxItems then resumed with StartingToken; every walk must list the same items in
the same order, in ceil(n / size) pages. Prints one JSON document of what it walked.
"""
import json
import math
import sys

from session import make_client

LISTINGS = [
    # operation, items, identity, recorded page size, page size parameter name in the model
    ("list_users", "Users", "Username", 7, {}),
    ("list_users_in_group", "Users", "Username", 10, {"GroupName": "editors"}),
    ("list_user_pools", "UserPools", "Id", 2, None),
    ("list_groups", "Groups", "GroupName", 1, {}),
]


def walk(client, operation, items, identity, size, kwargs):
    pages = client.get_paginator(operation).paginate(PaginationConfig={"PageSize": size}, **kwargs)
    ids, count = [], 0
    for page in pages:
        count += 1
        ids += [item[identity] for item in page[items]]
    return ids, count


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    url, pool = argv
    client = make_client(url)
    out = {}
    for operation, items, identity, recorded, kwargs in LISTINGS:
        kwargs = {} if kwargs is None else {"UserPoolId": pool, **kwargs}
        full, _ = walk(client, operation, items, identity, recorded, kwargs)
        assert full, f"{operation}: nothing recorded"
        walked = {}
        for size in (1, 10, 60):
            ids, pages = walk(client, operation, items, identity, size, kwargs)
            assert ids == full, f"{operation} at {size}: {ids} != {full}"
            assert pages == math.ceil(len(full) / size), f"{operation} at {size}: {pages} pages"
            walked[size] = pages
        paginator = client.get_paginator(operation)
        cut = min(13, len(full) - 1) or 1
        first = paginator.paginate(
            PaginationConfig={"MaxItems": cut, "PageSize": 10}, **kwargs
        ).build_full_result()
        resumed = [item[identity] for item in first[items]]
        if "NextToken" in first:
            rest = paginator.paginate(
                PaginationConfig={"StartingToken": first["NextToken"], "PageSize": 10}, **kwargs
            ).build_full_result()
            resumed += [item[identity] for item in rest[items]]
        assert resumed == full, f"{operation} resumed: {resumed} != {full}"
        out[operation] = {"items": len(full), "pages": walked}
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
