#!/usr/bin/env python3
"""An app's OAuth 2.0 / OpenID Connect session against a Cognito user pool's domain.

usage: oauth_session.py ENDPOINT POOL

ENDPOINT is the base URL the app uses as its Cognito domain and issuer host:
the proxy's URL (maybe with a path prefix, `http://127.0.0.1:PORT/scope/NAME`),
or oauth_fake.py's own URL. Everything else comes from the discovery document
at ENDPOINT/POOL/.well-known/openid-configuration, so the script runs unchanged
when recording and when replaying (the proxy then signs with its own key and
serves its own JWKS). Requests are the same on every run but for the values
random per flow by nature: PKCE verifier and challenge, state, authorization
codes. No nonce is ever sent (a replay cannot tie a new nonce to a recorded id
token). Clients and user are those of oauth_fake.py.

Steps (each asserted; the first failure is printed to stderr, exit 1):
   1 discovery: issuer, and every endpoint under ENDPOINT (the JWKS may be at the issuer,
     as Cognito names it: reached through HTTPS_PROXY when ENDPOINT is the real domain)
   2 the JWKS through PyJWT's PyJWKClient, which verifies every token below (RS256, iss;
     id tokens: aud)
   3 client_credentials, Basic auth, scope api/read
   4 client_credentials, client_id and client_secret in the form
   5 client_credentials with a wrong secret: 400 invalid_client
   6 authorization code + PKCE (S256), fakeclient1: authorize (302), token (Basic); at_hash
   7 the same code again: 400 invalid_grant
   8 authorization code + PKCE, public client publicclient1 (client_id in the form)
   9 userInfo with step 6's access token, GET and POST
  10 refresh_token grant with step 6's refresh token
  11 revoke that refresh token; refreshing with it again: 400 invalid_grant
  12 userInfo with `Bearer not-a-token`: 401 invalid_token
  13 Authlib's OAuth2Session: client_credentials, then authorization code + PKCE; the id
     token validated by authlib.jose with CodeIDToken (iss, aud, at_hash)

Prints one JSON line: {"ok": true, "steps": 13, "seen": [...]}, `seen` holding
every token, refresh token and authorization code the session received (for
the caller to check that none reached a cassette).
"""
import base64
import hashlib
import json
import secrets
import sys
import warnings
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from authlib.common.errors import AuthlibBaseError
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc.errors import JoseError

# Authlib 1.x deprecates authlib.jose in favour of joserfc (it stays until Authlib 2.0); it is
# still what most apps use to validate id tokens, so keep its warning off stderr.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, jwt as authlib_jwt

CLIENT_ID, CLIENT_SECRET = "fakeclient1", "fakesecret1"
PUBLIC_CLIENT_ID = "publicclient1"
REDIRECT_URI = "http://localhost:3000/callback"
USER_SCOPE = "openid email profile"


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    return verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def json_of(response, status, what):
    check(response.status_code == status,
          f"{what}: HTTP {response.status_code}, expected {status}: {response.text[:300]}")
    try:
        return response.json()
    except ValueError:
        raise Failure(f"{what}: body is not JSON: {response.text[:300]!r}") from None


def expect_error(response, status, error, what):
    body = json_of(response, status, what)
    check(body.get("error") == error, f"{what}: error {body.get('error')!r}, expected {error!r}")


class Session:
    def __init__(self, endpoint, pool):
        self.endpoint = endpoint.rstrip("/")
        self.pool = pool
        self.issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
        self.http = requests.Session()
        self.basic = (CLIENT_ID, CLIENT_SECRET)
        self.seen = []

    def keep(self, *values):
        self.seen.extend(v for v in values if v)

    def verify(self, token, token_use, client_id):
        """The claims of a token after checking it as an app does (PyJWT with the JWKS)."""
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            if token_use == "id":
                claims = jwt.decode(token, key, algorithms=["RS256"], issuer=self.issuer,
                                    audience=client_id, options={"require": ["exp", "iat"]})
            else:
                claims = jwt.decode(token, key, algorithms=["RS256"], issuer=self.issuer,
                                    options={"verify_aud": False, "require": ["exp", "iat"]})
        except jwt.PyJWTError as exc:
            raise Failure(f"{token_use} token does not verify: {exc}") from None
        check(claims.get("token_use") == token_use,
              f"token_use {claims.get('token_use')!r}, expected {token_use!r}")
        if token_use == "access":
            check(claims.get("client_id") == client_id,
                  f"access token client_id {claims.get('client_id')!r}, expected {client_id!r}")
        return claims

    def client_token(self, what, **request):
        body = json_of(self.http.post(self.discovery["token_endpoint"], **request), 200, what)
        check(body.get("token_type") == "Bearer", f"{what}: token_type {body.get('token_type')!r}")
        check("access_token" in body, f"{what}: no access_token in {sorted(body)}")
        self.keep(body["access_token"])
        claims = self.verify(body["access_token"], "access", CLIENT_ID)
        check(claims.get("scope") == "api/read", f"{what}: scope {claims.get('scope')!r}")

    def code_flow(self, client_id, auth, what):
        """Authorize (302 back with code and state), then redeem the code; returns
        (token answer, the token request, for sending it again)."""
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        response = self.http.get(self.discovery["authorization_endpoint"], allow_redirects=False,
                                 params=[("response_type", "code"), ("client_id", client_id),
                                         ("redirect_uri", REDIRECT_URI), ("scope", USER_SCOPE),
                                         ("state", state), ("code_challenge", challenge),
                                         ("code_challenge_method", "S256")])
        check(response.status_code == 302,
              f"{what} authorize: HTTP {response.status_code}, expected 302: {response.text[:300]}")
        location = response.headers.get("Location", "")
        check(location.startswith(REDIRECT_URI + "?"), f"{what} authorize: Location {location!r}")
        params = parse_qs(urlsplit(location).query)
        check(params.get("state") == [state], f"{what} authorize: state {params.get('state')}")
        check(len(params.get("code", [])) == 1, f"{what} authorize: no code in {location!r}")
        code = params["code"][0]
        self.keep(code)

        form = [("grant_type", "authorization_code")]
        if auth is None:
            form.append(("client_id", client_id))
        form += [("code", code), ("redirect_uri", REDIRECT_URI), ("code_verifier", verifier)]
        request = {"data": form, "auth": auth}
        body = json_of(self.http.post(self.discovery["token_endpoint"], **request), 200,
                       f"{what} token")
        self.keep(*(body.get(k) for k in ("id_token", "access_token", "refresh_token")))
        for name in ("id_token", "access_token", "refresh_token"):
            check(body.get(name), f"{what} token: no {name} in {sorted(body)}")
        check(body.get("token_type") == "Bearer", f"{what}: token_type {body.get('token_type')!r}")
        self.user_tokens(body, client_id, what)
        return body, request

    def user_tokens(self, body, client_id, what):
        """Verify the access and id tokens of a sign-in as alice's, and the id token's at_hash."""
        access = self.verify(body["access_token"], "access", client_id)
        id_claims = self.verify(body["id_token"], "id", client_id)
        check(access.get("username") == "alice", f"{what}: username {access.get('username')!r}")
        check(set(access.get("scope", "").split()) == set(USER_SCOPE.split()),
              f"{what}: access token scope {access.get('scope')!r}")
        check(id_claims.get("cognito:username") == "alice",
              f"{what}: cognito:username {id_claims.get('cognito:username')!r}")
        check(id_claims.get("sub") == access.get("sub"), f"{what}: id and access sub differ")
        at_hash = b64url(hashlib.sha256(body["access_token"].encode("ascii")).digest()[:16])
        check(id_claims.get("at_hash") == at_hash,
              f"{what}: at_hash {id_claims.get('at_hash')!r}, expected {at_hash!r}")

    def refresh(self, refresh_token):
        return self.http.post(self.discovery["token_endpoint"], auth=self.basic,
                              data=[("grant_type", "refresh_token"),
                                    ("refresh_token", refresh_token)])

    def user_info(self, method, access_token):
        return self.http.request(method, self.discovery["userinfo_endpoint"],
                                 headers={"Authorization": f"Bearer {access_token}"})

    # --- the steps, in order ----------------------------------------------------------------

    def step_discovery(self):
        url = f"{self.endpoint}/{self.pool}/.well-known/openid-configuration"
        self.discovery = json_of(self.http.get(url), 200, "discovery")
        check(self.discovery.get("issuer") == self.issuer,
              f"discovery: issuer {self.discovery.get('issuer')!r}, expected {self.issuer!r}")
        for name in ("token_endpoint", "authorization_endpoint", "userinfo_endpoint",
                     "revocation_endpoint", "jwks_uri"):
            value = self.discovery.get(name) or ""
            # Through HTTPS_PROXY the document names the JWKS at the issuer, as Cognito's does.
            under = (self.endpoint + "/",) + ((self.issuer + "/",) if name == "jwks_uri" else ())
            check(value.startswith(under),
                  f"discovery: {name} {value!r} is not under {' or '.join(under)}")

    def step_jwks(self):
        self.jwks = jwt.PyJWKClient(self.discovery["jwks_uri"])
        try:
            keys = self.jwks.get_signing_keys()
        except jwt.PyJWKClientError as exc:
            raise Failure(f"jwks: {exc}") from None
        check(all(k.algorithm_name == "RS256" for k in keys), "jwks: a key is not RS256")

    def step_client_credentials_basic(self):
        self.client_token("client_credentials (Basic)", auth=self.basic,
                          data=[("grant_type", "client_credentials"), ("scope", "api/read")])

    def step_client_credentials_form(self):
        self.client_token("client_credentials (form)",
                          data=[("grant_type", "client_credentials"), ("client_id", CLIENT_ID),
                                ("client_secret", CLIENT_SECRET), ("scope", "api/read")])

    def step_wrong_secret(self):
        response = self.http.post(self.discovery["token_endpoint"],
                                  auth=(CLIENT_ID, "wrong-secret"),
                                  data=[("grant_type", "client_credentials"),
                                        ("scope", "api/read")])
        expect_error(response, 400, "invalid_client", "wrong secret")

    def step_code_flow(self):
        self.signin, self.code_request = self.code_flow(CLIENT_ID, self.basic, "code flow")

    def step_code_reused(self):
        response = self.http.post(self.discovery["token_endpoint"], **self.code_request)
        expect_error(response, 400, "invalid_grant", "reused code")

    def step_public_client(self):
        self.code_flow(PUBLIC_CLIENT_ID, None, "public client")

    def step_user_info(self):
        for method in ("GET", "POST"):
            what = f"userInfo ({method})"
            body = json_of(self.user_info(method, self.signin["access_token"]), 200, what)
            check(body.get("username") == "alice", f"{what}: username {body.get('username')!r}")
            check(body.get("email"), f"{what}: no email in {sorted(body)}")

    def step_refresh(self):
        body = json_of(self.refresh(self.signin["refresh_token"]), 200, "refresh")
        self.keep(*(body.get(k) for k in ("id_token", "access_token", "refresh_token")))
        for name in ("id_token", "access_token"):
            check(body.get(name), f"refresh: no {name} in {sorted(body)}")
        check(body["access_token"] != self.signin["access_token"],
              "refresh: the same access token again")
        self.user_tokens(body, CLIENT_ID, "refresh")

    def step_revoke(self):
        response = self.http.post(self.discovery["revocation_endpoint"], auth=self.basic,
                                  data=[("token", self.signin["refresh_token"])])
        check(response.status_code == 200,
              f"revoke: HTTP {response.status_code}, expected 200: {response.text[:300]}")
        expect_error(self.refresh(self.signin["refresh_token"]), 400, "invalid_grant",
                     "refresh after revoke")

    def step_bad_bearer(self):
        expect_error(self.user_info("GET", "not-a-token"), 401, "invalid_token",
                     "userInfo with a bad token")

    def step_authlib(self):
        endpoint = self.discovery["token_endpoint"]
        machine = OAuth2Session(CLIENT_ID, CLIENT_SECRET,
                                token_endpoint_auth_method="client_secret_basic")
        token = machine.fetch_token(endpoint, grant_type="client_credentials", scope="api/read")
        self.keep(token.get("access_token"))
        claims = self.verify(token["access_token"], "access", CLIENT_ID)
        check(claims.get("scope") == "api/read", f"authlib client_credentials: scope {claims}")

        app = OAuth2Session(CLIENT_ID, CLIENT_SECRET, scope=USER_SCOPE,
                            redirect_uri=REDIRECT_URI, code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_basic")
        verifier = secrets.token_urlsafe(48)
        url, state = app.create_authorization_url(self.discovery["authorization_endpoint"],
                                                  code_verifier=verifier)
        check("nonce=" not in url, f"authlib: a nonce in {url}")
        response = self.http.get(url, allow_redirects=False)  # the browser's part
        check(response.status_code == 302, f"authlib authorize: HTTP {response.status_code}")
        location = response.headers.get("Location", "")
        self.keep(*parse_qs(urlsplit(location).query).get("code", []))
        token = app.fetch_token(endpoint, authorization_response=location, state=state,
                                code_verifier=verifier)
        self.keep(*(token.get(k) for k in ("id_token", "access_token", "refresh_token")))
        check(token.get("id_token") and token.get("access_token"),
              f"authlib: tokens missing from {sorted(token)}")
        self.verify(token["access_token"], "access", CLIENT_ID)

        keys = JsonWebKey.import_key_set(
            json_of(self.http.get(self.discovery["jwks_uri"]), 200, "authlib jwks"))
        try:
            id_token = authlib_jwt.decode(
                token["id_token"], keys, claims_cls=CodeIDToken,
                claims_options={"iss": {"value": self.issuer}, "aud": {"value": CLIENT_ID}},
                claims_params={"access_token": token["access_token"], "client_id": CLIENT_ID})
            id_token.validate()  # iss, aud, exp, iat and at_hash against the access token
        except (AuthlibBaseError, JoseError, ValueError) as exc:  # ValueError: kid not in the set
            raise Failure(f"authlib: id token does not validate: {exc!r}") from None
        check("at_hash" in id_token, "authlib: the id token has no at_hash")
        check(id_token.get("cognito:username") == "alice", "authlib: not alice's id token")

    STEPS = [step_discovery, step_jwks, step_client_credentials_basic,
             step_client_credentials_form, step_wrong_secret, step_code_flow, step_code_reused,
             step_public_client, step_user_info, step_refresh, step_revoke, step_bad_bearer,
             step_authlib]


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    session = Session(*argv)
    for number, step in enumerate(Session.STEPS, 1):
        try:
            step(session)
        except Failure as failure:
            print(f"oauth_session: step {number} ({step.__name__[5:]}) failed: {failure}",
                  file=sys.stderr)
            return 1
    print(json.dumps({"ok": True, "steps": len(Session.STEPS), "seen": session.seen}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
