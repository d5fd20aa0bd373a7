#!/usr/bin/env python3
"""boto3's cognito-identity client talking to the real endpoint name
(cognito-identity.us-east-1.amazonaws.com) through HTTPS_PROXY (cognito-vcr's CONNECT
interception): ListIdentityPools (signed) and GetId (unsigned). Prints the raw answers as one
JSON document. For tests/integration/identity_pools.rs.

usage: intercept_identity_client.py   (HTTPS_PROXY, AWS_CA_BUNDLE and credentials come from the environment)
"""
import json
import sys

import boto3
from botocore.config import Config


def main():
    client = boto3.client(
        "cognito-identity",
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    raw = []
    client.meta.events.register(
        "after-call.cognito-identity",
        lambda http_response, **_: raw.append(json.loads(http_response.content)),
    )
    client.list_identity_pools(MaxResults=2)
    client.get_id(IdentityPoolId="us-east-1:0b8ac0a5-5b0c-4e8e-8a8f-3a4b2c1d0e9f")
    json.dump(raw, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
