#!/usr/bin/env python3
"""Verify replayed Cognito JWTs as an app does: PyJWT's PyJWKClient on the pool's JWKS.

usage: verify_tokens.py [--record-only] [--fresh] [--jwks-via-proxy CA_PEM] ENDPOINT_URL POOL_ID CLIENT_ID

Signs in as carol (the user auth_setup.py made) through ENDPOINT_URL, fetches the JWKS of the
pool from the proxy (ENDPOINT_URL/POOL_ID/.well-known/jwks.json; with --jwks-via-proxy, from
https://cognito-idp.us-east-1.amazonaws.com/POOL_ID/.well-known/jwks.json through the proxy
as HTTPS_PROXY, trusting CA_PEM), and checks what an app checks: the RS256 signature, `iss`,
`aud` (id token) / `client_id` (access token), `token_use`, `exp`. A token with one claim
changed must fail. Then uses the verified access token (GetUser), as an app would.
--fresh: `iat` must be within the last minute (the proxy's --token-times now).
--record-only: only the calls (sign-in, GetUser), for recording them.

Prints one JSON document of what it checked; exits non-zero on any failure.
"""
import base64
import json
import ssl
import sys
import time

import jwt

from session import make_client


def tampered(token):
    header, claims, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    decoded["cognito:username"] = "mallory"
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def main(argv):
    fresh = "--fresh" in argv
    record_only = "--record-only" in argv
    argv = [a for a in argv if a not in ("--fresh", "--record-only")]
    via_proxy = None
    if "--jwks-via-proxy" in argv:
        i = argv.index("--jwks-via-proxy")
        via_proxy = argv[i + 1]
        del argv[i : i + 2]
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    url, pool, client_id = argv
    c = make_client(url)
    result = c.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "carol", "PASSWORD": "Carol-Secret-1!"},
    )["AuthenticationResult"]
    if record_only:
        c.get_user(AccessToken=result["AccessToken"])
        return 0
    issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    if via_proxy:
        # The app's own JWKS URL, reached through HTTPS_PROXY (set by the caller).
        jwks = jwt.PyJWKClient(
            f"{issuer}/.well-known/jwks.json",
            ssl_context=ssl.create_default_context(cafile=via_proxy),
        )
    else:
        jwks = jwt.PyJWKClient(f"{url}/{pool}/.well-known/jwks.json")
    out = {}
    id_key = jwks.get_signing_key_from_jwt(result["IdToken"])
    id_claims = jwt.decode(
        result["IdToken"],
        id_key.key,
        algorithms=["RS256"],
        audience=client_id,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "token_use"]},
    )
    assert id_claims["token_use"] == "id", id_claims
    out["id"] = {"username": id_claims["cognito:username"], "token_use": id_claims["token_use"]}
    access_key = jwks.get_signing_key_from_jwt(result["AccessToken"])
    access_claims = jwt.decode(
        result["AccessToken"],
        access_key.key,
        algorithms=["RS256"],
        issuer=issuer,
        options={"verify_aud": False, "require": ["exp", "iat", "iss", "token_use"]},
    )
    assert access_claims["token_use"] == "access", access_claims
    assert access_claims["client_id"] == client_id, access_claims
    out["access"] = {"token_use": access_claims["token_use"], "client_id_matches": True}
    if fresh:
        assert time.time() - 60 <= id_claims["iat"] <= time.time() + 1, id_claims
        out["fresh_iat"] = True
    try:
        jwt.decode(
            tampered(result["IdToken"]),
            id_key.key,
            algorithms=["RS256"],
            audience=client_id,
            issuer=issuer,
        )
        raise SystemExit("verify_tokens.py: a tampered token verified")
    except jwt.InvalidSignatureError:
        out["tampered"] = "InvalidSignatureError"
    # The verified token works where the app sends it back.
    out["get_user"] = c.get_user(AccessToken=result["AccessToken"])["Username"]
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
