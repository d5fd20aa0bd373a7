#!/usr/bin/env python3
"""moto's server (as moto_server.py runs it) with the identity-pools behaviour moto 5.2 lacks.

Same start line, flags and stop rules as moto_server.py. moto's cognito-identity hands out the
same credentials every time, a `<region>:<uuid>` as OpenId token, and lists identity pools and
identities in one page whatever MaxResults says. Here, as AWS does:

- ListIdentityPools and ListIdentities page by MaxResults, with an opaque NextToken that differs
  on every call (as AWS's do), valid for the rest of the listing;
- GetCredentialsForIdentity hands out new credentials of the real shape on every call (an `ASIA`
  key id, a 40-character secret key, an STS-like session token, an Expiration an hour on);
- GetOpenIdToken and GetOpenIdTokenForDeveloperIdentity hand out a JWT (RS512 header, claims
  `sub` = the identity, `aud` = its pool, `amr`, random signature);
- DescribeIdentity answers (moto 5.2 has none).

For `tests/integration/identity_pools.rs`.
"""
import base64
import json
import os
import secrets
import string
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def patch():
    from moto.cognitoidentity import models, responses

    pages = {}  # token -> (listing, offset)

    def paged(listing, items, max_results, token):
        offset = 0
        if token is not None:
            if token not in pages or pages[token][0] != listing:
                from moto.core.exceptions import JsonRESTError

                raise JsonRESTError("InvalidParameterException", "bad NextToken")
            offset = pages[token][1]
        size = int(max_results or 60)
        page = items[offset : offset + size]
        out = {}
        if offset + size < len(items):
            new = b64url(secrets.token_bytes(24))
            pages[new] = (listing, offset + size)
            out["NextToken"] = new
        return page, out

    def list_identity_pools(self):
        pools = [
            {"IdentityPoolId": p.identity_pool_id, "IdentityPoolName": p.identity_pool_name}
            for p in self.backend.identity_pools.values()
        ]
        page, out = paged(
            "pools", pools, self._get_param("MaxResults"), self._get_param("NextToken")
        )
        return json.dumps({"IdentityPools": page, **out})

    def list_identities(self):
        pool = self._get_param("IdentityPoolId")
        identities = self.backend.pools_identities[pool]["Identities"]
        page, out = paged(
            "identities:" + pool,
            identities,
            self._get_param("MaxResults"),
            self._get_param("NextToken"),
        )
        return json.dumps({"IdentityPoolId": pool, "Identities": page, **out})

    def credentials(self):
        identity = self._get_param("IdentityId")
        alnum = string.ascii_uppercase + string.digits
        secret_chars = string.ascii_letters + string.digits + "+/"
        return json.dumps(
            {
                "IdentityId": identity,
                "Credentials": {
                    "AccessKeyId": "ASIA" + "".join(secrets.choice(alnum) for _ in range(16)),
                    "SecretKey": "".join(secrets.choice(secret_chars) for _ in range(40)),
                    "SessionToken": "IQoJb3JpZ2luX2Vj"
                    + base64.b64encode(secrets.token_bytes(300)).decode(),
                    "Expiration": time.time() + 3600,
                },
            }
        )

    def open_id_token(self):
        identity = self._get_param("IdentityId")
        pool = self._get_param("IdentityPoolId")
        if pool is None:
            for pool_id, listed in self.backend.pools_identities.items():
                if {"IdentityId": identity} in listed["Identities"]:
                    pool = pool_id
        now = int(time.time())
        header = {"kid": "us-east-11", "typ": "JWS", "alg": "RS512"}
        claims = {
            "sub": identity,
            "aud": pool,
            "amr": ["unauthenticated"],
            "iss": "https://cognito-identity.amazonaws.com",
            "exp": now + 600,
            "iat": now,
        }
        token = ".".join(
            [
                b64url(json.dumps(header).encode()),
                b64url(json.dumps(claims).encode()),
                b64url(secrets.token_bytes(256)),
            ]
        )
        return json.dumps({"IdentityId": identity, "Token": token})

    def describe_identity(self):
        identity = self._get_param("IdentityId")
        return json.dumps({"IdentityId": identity, "Logins": []})

    r = responses.CognitoIdentityResponse
    r.list_identity_pools = list_identity_pools
    r.list_identities = list_identities
    r.get_credentials_for_identity = credentials
    r.get_open_id_token = open_id_token
    r.get_open_id_token_for_developer_identity = open_id_token
    r.describe_identity = describe_identity
    del models


if __name__ == "__main__":
    import moto_server

    patch()
    sys.exit(moto_server.main(sys.argv[1:]))
