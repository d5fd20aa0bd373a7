#!/usr/bin/env python3
"""An identity-pools session with boto3 (cognito-identity), for tests/integration/identity_pools.rs.

usage: identity_session.py ENDPOINT_URL

Creates the identity pools `vcr-ids-1..3` (1 allows unauthenticated identities), GetId three
times in pool 1, GetCredentialsForIdentity and GetOpenIdToken for the first identity,
DescribeIdentity, DescribeIdentityPool, then ListIdentityPools (boto3's paginator) and
ListIdentities (by hand, NextToken) in pages of 1 and 2. Also a signed-in GetId: a user pool,
an app client and a user `erin` (cognito-idp), USER_PASSWORD_AUTH, then GetId and
GetCredentialsForIdentity with `Logins` naming the user pool and the id token.

Prints one JSON document of what a client would check, the same live and in replay: names,
identities as their index in the order GetId made them (live they are moto's, in replay
stand-ins), page sizes, and the shape of credentials and tokens, never their values. If
COGNITO_VCR_SECRETS_OUT names a file, every secret the client held (access key ids, secret
keys, session tokens, OpenId tokens, id tokens) is appended there, one per line.
"""
import base64
import datetime
import json
import os
import sys

from session import make_client


def claims(jwt):
    payload = jwt.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def client(url, service):
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "fakesecret")
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def credentials_shape(creds):
    key_id, secret = creds["AccessKeyId"], creds["SecretKey"]
    now = datetime.datetime.now(datetime.timezone.utc)
    return {
        "access_key_id": key_id.startswith("ASIA")
        and len(key_id) == 20
        and all(c.isupper() or c.isdigit() for c in key_id),
        "secret_key_40": len(secret) == 40,
        "session_token": len(creds["SessionToken"]) > 0,
        "expires_in_the_future": creds["Expiration"] > now,
    }


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    (url,) = argv
    ci = client(url, "cognito-identity")
    held = []
    out = {}

    pools = []
    for n in (1, 2, 3):
        created = ci.create_identity_pool(
            IdentityPoolName=f"vcr-ids-{n}", AllowUnauthenticatedIdentities=n == 1
        )
        pools.append(created["IdentityPoolId"])
    pool = pools[0]
    out["region_prefixed_pool_ids"] = all(p.startswith("us-east-1:") for p in pools)
    out["described_pool"] = ci.describe_identity_pool(IdentityPoolId=pool)["IdentityPoolName"]

    identities = [ci.get_id(IdentityPoolId=pool)["IdentityId"] for _ in range(3)]
    index = {identity: i for i, identity in enumerate(identities)}
    out["distinct_identities"] = len(set(identities))
    first = identities[0]

    got = ci.get_credentials_for_identity(IdentityId=first)
    creds = got["Credentials"]
    held += [creds["AccessKeyId"], creds["SecretKey"], creds["SessionToken"]]
    out["credentials"] = {"identity": index[got["IdentityId"]], **credentials_shape(creds)}

    token = ci.get_open_id_token(IdentityId=first)
    held.append(token["Token"])
    c = claims(token["Token"])
    out["open_id_token"] = {
        "identity": index[token["IdentityId"]],
        "segments": len(token["Token"].split(".")),
        "sub_is_the_identity": c["sub"] == first,
        "aud_is_the_pool": c["aud"] == pool,
        "amr": c["amr"],
    }
    out["described_identity"] = index[ci.describe_identity(IdentityId=first)["IdentityId"]]

    for size in (1, 2):
        pages, names = [], []
        paginator = ci.get_paginator("list_identity_pools")
        for page in paginator.paginate(PaginationConfig={"PageSize": size}, MaxResults=size):
            pages.append(len(page["IdentityPools"]))
            names += [p["IdentityPoolName"] for p in page["IdentityPools"]]
        out[f"list_identity_pools_by_{size}"] = {"pages": pages, "names": names}

        pages, listed, params = [], [], {"IdentityPoolId": pool, "MaxResults": size}
        while True:
            page = ci.list_identities(**params)
            pages.append(len(page["Identities"]))
            listed += [index.get(i["IdentityId"], "unknown") for i in page["Identities"]]
            if not page.get("NextToken"):
                break
            params["NextToken"] = page["NextToken"]
        out[f"list_identities_by_{size}"] = {"pages": pages, "identities": listed}

    # A signed-in identity: Logins maps the user pool to the id token of a sign-in.
    idp = client(url, "cognito-idp")
    user_pool = idp.create_user_pool(PoolName="vcr-ids-users")["UserPool"]["Id"]
    app = idp.create_user_pool_client(
        UserPoolId=user_pool,
        ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=user_pool, Username="erin", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=user_pool, Username="erin", Password="Erin-Secret-1!", Permanent=True
    )
    signed_in = idp.initiate_auth(
        ClientId=app,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "erin", "PASSWORD": "Erin-Secret-1!"},
    )["AuthenticationResult"]
    id_token = signed_in["IdToken"]
    held += [id_token, signed_in["AccessToken"], signed_in["RefreshToken"]]
    logins = {f"cognito-idp.us-east-1.amazonaws.com/{user_pool}": id_token}
    erin = ci.get_id(IdentityPoolId=pool, Logins=logins)["IdentityId"]
    got = ci.get_credentials_for_identity(IdentityId=erin, Logins=logins)
    creds = got["Credentials"]
    held += [creds["AccessKeyId"], creds["SecretKey"], creds["SessionToken"]]
    out["signed_in"] = {
        "new_identity": erin not in index,
        "credentials_for_it": got["IdentityId"] == erin,
        **credentials_shape(creds),
    }

    secrets_out = os.environ.get("COGNITO_VCR_SECRETS_OUT")
    if secrets_out:
        with open(secrets_out, "a") as f:
            for value in held:
                f.write(value + "\n")
                if value.count(".") == 2:
                    f.write(value.split(".")[2] + "\n")
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
