"""boto3's retries against faults cognito-vcr injects (`[[faults]]` in its config file).

  retry_session.py throttled URL POOL     the whole ListUsers listing by 7 with standard retries
                                          (the proxy throttles some pages): users, first, last,
                                          and how many retries the pages took
  retry_session.py no_retries URL POOL    one ListUsers page with total_max_attempts=1 (the
                                          proxy throttles it): the error boto3 raised, then the
                                          same call again
  retry_session.py slow URL POOL          one page with read_timeout=1 and standard retries
                                          (the proxy holds the first call far longer): users,
                                          retries, seconds
  retry_session.py closed URL POOL        one page with standard retries (the proxy closes the
                                          first call's connection): users, retries

Prints one JSON document. Run by tests/integration/faults_injected.rs against the demo cassette.
"""

import json
import os
import sys
import time


def client(url, **config):
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "fakesecret")
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "cognito-idp", endpoint_url=url, region_name="us-east-1", config=Config(**config)
    )


STANDARD = {"mode": "standard", "total_max_attempts": 5}


def throttled(url, pool):
    c = client(url, retries=STANDARD)
    pages = list(
        c.get_paginator("list_users").paginate(
            UserPoolId=pool, PaginationConfig={"PageSize": 7}
        )
    )
    users = [u["Username"] for p in pages for u in p["Users"]]
    return {
        "users": len(users),
        "first": users[0],
        "last": users[-1],
        "retries": sum(p["ResponseMetadata"]["RetryAttempts"] for p in pages),
    }


def no_retries(url, pool):
    from botocore.exceptions import ClientError

    c = client(url, retries={"mode": "standard", "total_max_attempts": 1})
    try:
        c.list_users(UserPoolId=pool, Limit=7)
        raise SystemExit("the throttled call succeeded")
    except ClientError as e:
        error = e.response["Error"]
        meta = e.response["ResponseMetadata"]
        seen = {
            "code": error["Code"],
            "message": error["Message"],
            "status": meta["HTTPStatusCode"],
            "attempts": meta.get("RetryAttempts", 0) + 1,
        }
    seen["then"] = len(c.list_users(UserPoolId=pool, Limit=7)["Users"])
    return seen


def one_page(url, pool, **config):
    c = client(url, retries=STANDARD, **config)
    started = time.monotonic()
    page = c.list_users(UserPoolId=pool, Limit=7)
    return {
        "users": len(page["Users"]),
        "retries": page["ResponseMetadata"]["RetryAttempts"],
        "seconds": round(time.monotonic() - started, 3),
    }


def main():
    phase, url, pool = sys.argv[1:4]
    if phase == "throttled":
        out = throttled(url, pool)
    elif phase == "no_retries":
        out = no_retries(url, pool)
    elif phase == "slow":
        out = one_page(url, pool, read_timeout=1, connect_timeout=5)
    elif phase == "closed":
        out = one_page(url, pool)
    else:
        raise SystemExit(f"unknown phase {phase}")
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
