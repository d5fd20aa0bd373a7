#!/usr/bin/env python3
"""boto3 talking to the real Cognito endpoint name through HTTPS_PROXY (cognito-vcr's CONNECT
interception), for the interception tests. Prints the raw answers as one JSON document.

usage: intercept_client.py   (HTTPS_PROXY, AWS_CA_BUNDLE and credentials come from the environment)
"""
import json
import sys

import boto3
from botocore.config import Config


def main():
    client = boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    raw = []
    client.meta.events.register(
        "after-call.cognito-idp", lambda http_response, **_: raw.append(json.loads(http_response.content))
    )
    client.describe_user_pool(UserPoolId="us-east-1_Intercepted")
    client.initiate_auth(
        ClientId="app", AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "u", "PASSWORD": "Pw-12345!"}
    )
    json.dump(raw, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
