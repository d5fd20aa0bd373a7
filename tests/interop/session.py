#!/usr/bin/env python3
"""A fixed boto3 session against a Cognito user-pools endpoint seeded by seed.py.

usage: session.py [--read-only] ENDPOINT_URL POOL_ID

--read-only stops before the calls that change the pool (step 8).

Prints ONE JSON document (sorted keys) with the results of every call. Volatile
fields (dates, the `sub` attribute, UserSub, request ids / ResponseMetadata,
pagination tokens) are left out, so a live run and a replay of it print
byte-identical output. Any unexpected error makes the script exit non-zero.
"""
import json
import os
import sys

VOLATILE_KEYS = {
    "UserCreateDate",
    "UserLastModifiedDate",
    "CreationDate",
    "LastModifiedDate",
    "UserSub",
    "ResponseMetadata",
    "PaginationToken",
    "NextToken",
}
VOLATILE_ATTRIBUTES = {"sub"}


def scrub(value):
    """Drop volatile keys everywhere; turn Attributes lists into dicts."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in VOLATILE_KEYS:
                continue
            if key in ("Attributes", "UserAttributes") and isinstance(item, list):
                out[key] = attributes_dict(item)
            else:
                out[key] = scrub(item)
        return out
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def attributes_dict(attrs):
    return {a["Name"]: a.get("Value") for a in attrs if a["Name"] not in VOLATILE_ATTRIBUTES}


def make_client(endpoint_url):
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "fakesecret")
    import boto3
    from botocore.config import Config

    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        # total_max_attempts, not max_attempts: in botocore's `retries` dict
        # max_attempts counts *retries* (max_attempts=1 sends
        # `amz-sdk-request: attempt=1; max=2`). This makes one try, no retry.
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def paginate(client, operation, items_key, page_size, **params):
    """Run a paginator to the end; return (pages, page sizes, items)."""
    paginator = client.get_paginator(operation)
    pages, sizes, items = 0, [], []
    for page in paginator.paginate(PaginationConfig={"PageSize": page_size}, **params):
        pages += 1
        sizes.append(len(page.get(items_key, [])))
        items.extend(page.get(items_key, []))
    return pages, sizes, items


def client_error(call):
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as err:
        return {
            "code": err.response["Error"]["Code"],
            "message": err.response["Error"].get("Message"),
            "http_status": err.response["ResponseMetadata"]["HTTPStatusCode"],
        }
    raise SystemExit("session.py: expected a ClientError, the call succeeded")


def main(argv):
    read_only = "--read-only" in argv
    argv = [a for a in argv if a != "--read-only"]
    if len(argv) != 2:
        print("usage: session.py [--read-only] ENDPOINT_URL POOL_ID", file=sys.stderr)
        return 2
    endpoint_url, pool_id = argv
    client = make_client(endpoint_url)
    out = {}

    # 1. ListUsers, all pages of 7 (PaginationToken).
    pages, sizes, users = paginate(client, "list_users", "Users", 7, UserPoolId=pool_id)
    out["list_users"] = {
        "pages": pages,
        "page_sizes": sizes,
        "usernames": [u["Username"] for u in users],
    }

    # 2. ListUsers with a Filter, via the paginator (full user records).
    pages, sizes, users = paginate(
        client, "list_users", "Users", 7, UserPoolId=pool_id, Filter='email ^= "user01"'
    )
    out["list_users_filtered"] = {"pages": pages, "page_sizes": sizes, "users": scrub(users)}

    # 3. ListUsersInGroup editors, pages of 10 (NextToken).
    pages, sizes, users = paginate(
        client, "list_users_in_group", "Users", 10, UserPoolId=pool_id, GroupName="editors"
    )
    out["list_users_in_group"] = {
        "pages": pages,
        "page_sizes": sizes,
        "usernames": [u["Username"] for u in users],
    }

    # 4. ListUserPools, pages of 2 (MaxResults / NextToken).
    pages, sizes, pools = paginate(client, "list_user_pools", "UserPools", 2)
    out["list_user_pools"] = {
        "pages": pages,
        "page_sizes": sizes,
        "pools": [{"Id": p["Id"], "Name": p["Name"]} for p in pools],
    }

    # 4b. ListUsers asking for one attribute only, pages of 25.
    pages, sizes, users = paginate(
        client, "list_users", "Users", 25, UserPoolId=pool_id, AttributesToGet=["email"]
    )
    out["list_users_email_only"] = {
        "pages": pages,
        "page_sizes": sizes,
        "attribute_names": sorted({a["Name"] for u in users for a in u.get("Attributes", [])}),
        "usernames": [u["Username"] for u in users],
    }

    # 4c. MaxItems cuts a page: botocore hands out a composite token; resume from it.
    paginator = client.get_paginator("list_users")
    first = paginator.paginate(
        UserPoolId=pool_id, PaginationConfig={"MaxItems": 10, "PageSize": 7}
    ).build_full_result()
    rest = paginator.paginate(
        UserPoolId=pool_id,
        PaginationConfig={"StartingToken": first["NextToken"], "MaxItems": 20, "PageSize": 7},
    ).build_full_result()
    out["list_users_resume"] = {
        "first": [u["Username"] for u in first["Users"]],
        "rest": [u["Username"] for u in rest["Users"]],
    }

    # 4d. ListGroups, one group per page.
    pages, sizes, groups = paginate(client, "list_groups", "Groups", 1, UserPoolId=pool_id)
    out["list_groups_paged"] = {"pages": pages, "names": [g["GroupName"] for g in groups]}

    # 5. ListGroups (one call).
    out["list_groups"] = scrub(client.list_groups(UserPoolId=pool_id)["Groups"])

    # 6. AdminGetUser on an existing user.
    out["admin_get_user"] = scrub(client.admin_get_user(UserPoolId=pool_id, Username="user001"))

    # 7. AdminGetUser on a missing user: error, not retried.
    out["admin_get_user_missing"] = client_error(
        lambda: client.admin_get_user(UserPoolId=pool_id, Username="no-such-user")
    )

    if read_only:
        json.dump(out, sys.stdout, sort_keys=True, indent=1)
        sys.stdout.write("\n")
        return 0

    # 8. The same requests before and after a mutation must replay in order.
    def first_page():
        resp = client.list_users(UserPoolId=pool_id, Limit=5)
        return {
            "usernames": [u["Username"] for u in resp["Users"]],
            "has_more": "PaginationToken" in resp,
        }

    def lookup_newcomer():
        resp = client.list_users(UserPoolId=pool_id, Filter='username = "newcomer"')
        return [u["Username"] for u in resp["Users"]]

    out["list_users_before_create"] = first_page()
    out["newcomer_before_create"] = lookup_newcomer()
    created = client.admin_create_user(
        UserPoolId=pool_id,
        Username="newcomer",
        UserAttributes=[
            {"Name": "email", "Value": "newcomer@example.com"},
            {"Name": "name", "Value": "New Comer"},
            {"Name": "given_name", "Value": "New"},
            {"Name": "family_name", "Value": "Comer"},
        ],
        MessageAction="SUPPRESS",
    )
    out["admin_create_user"] = scrub(created["User"])
    out["list_users_after_create"] = first_page()
    out["newcomer_after_create"] = lookup_newcomer()

    def viewers():
        _, _, users = paginate(
            client, "list_users_in_group", "Users", 10, UserPoolId=pool_id, GroupName="viewers"
        )
        return [u["Username"] for u in users]

    out["viewers_before_add"] = viewers()
    client.admin_add_user_to_group(UserPoolId=pool_id, Username="newcomer", GroupName="viewers")
    out["viewers_after_add"] = viewers()
    client.admin_delete_user(UserPoolId=pool_id, Username="newcomer")
    out["newcomer_after_delete"] = lookup_newcomer()

    json.dump(out, sys.stdout, sort_keys=True, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
