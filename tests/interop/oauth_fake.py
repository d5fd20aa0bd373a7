#!/usr/bin/env python3
"""Fake of a Cognito user pool's OAuth 2.0 / OpenID Connect endpoints, for the interop tests.

usage: oauth_fake.py [--pool POOL] [--domain URL] [--ignore-stdin] [--verbose]

Binds 127.0.0.1 on an OS-chosen port, prints exactly one line
`listening on http://127.0.0.1:PORT`, then serves until stdin reaches EOF or
SIGTERM/SIGINT arrives, and exits 0 (the loop of _serve.py). `--ignore-stdin`
and `--verbose` (each request line on stderr) as for moto_server.py.
POOL defaults to us-east-1_OAuthFake; the issuer is always
https://cognito-idp.us-east-1.amazonaws.com/POOL.

An RSA-2048 key is made at start, so every run signs with a new key; its kid
is derived from the pool (Cognito's kid is stable while its key is, and a
re-recording must meet the same one). With --domain, the discovery document
names the endpoints at that URL and the JWKS at the issuer, as Cognito's does
(https://<prefix>.auth.<region>.amazoncognito.com, https://cognito-idp...);
without it, everything at this server's own URL. Tokens are RS256 JWTs with Cognito's claims and header `{"alg", "kid"}`;
every token answer holds new ones (new jti, iat = now, exp = now + 3600).
Refresh tokens are opaque: ~400 url-safe characters in 5 dot-separated parts,
shaped like Cognito's JWE.

The pool (redirect URI of both clients: http://localhost:3000/callback):
  fakeclient1, secret fakesecret1  client_credentials (scopes api/read api/write),
                                   authorization_code (PKCE optional), refresh_token
  publicclient1, no secret         authorization_code with PKCE required, refresh_token
  user alice (sub a1b2c3d4-0000-4000-8000-00000000a11c, alice@example.com), whom the
  hosted UI treats as signed in: /oauth2/authorize approves at once.
  Authorization-code scopes: openid email phone profile.

Endpoints (JSON answers have `Content-Type: application/json;charset=UTF-8`):
  GET  /POOL/.well-known/openid-configuration  discovery (endpoints: see --domain)
  GET  /POOL/.well-known/jwks.json             {"keys": [the RSA key]}
  GET  /oauth2/authorize       302 Location: REDIRECT_URI?code=C[&state=S]
  POST /oauth2/token           client auth by HTTP Basic or form client_id (+client_secret)
       client_credentials      {"access_token", "expires_in", "token_type"}
       authorization_code      {"id_token", "access_token", "refresh_token", "expires_in", "token_type"}
       refresh_token           {"id_token", "access_token", "expires_in", "token_type"}
  GET|POST /oauth2/userInfo    Bearer access token -> {"sub", "email_verified", "email", "username"}
  POST /oauth2/revoke          form token=REFRESH_TOKEN -> 200, empty body
Codes are single use (any attempt burns one), live 300 s and are bound to the
client, redirect_uri, scope, PKCE challenge and nonce. Revoking a refresh token
also disables the access tokens issued from the same sign-in (at userInfo).

Errors:
  authorize  unknown client_id, redirect_uri not the client's  400 {"error": "invalid_request"}
             response_type other than code                     400 {"error": "unsupported_response_type"}
             scope not allowed for the client                  302 REDIRECT_URI?error=invalid_scope[&state=S]
             no code_challenge (public client), or
             code_challenge_method other than S256/plain       302 REDIRECT_URI?error=invalid_request[&state=S]
  token      client unknown, secret wrong or missing (or sent
             by the public client); the same for revoke        400 {"error": "invalid_client"}
             body not a form, grant_type missing               400 {"error": "invalid_request"}
             grant_type not one of the three                   400 {"error": "unsupported_grant_type"}
             grant not allowed for the client                  400 {"error": "unauthorized_client"}
             client_credentials scope not allowed              400 {"error": "invalid_scope"}
             code used, unknown, expired, of another client or
             redirect_uri, code_verifier missing or wrong;
             refresh token revoked, unknown or of another client
                                                               400 {"error": "invalid_grant"}
  userInfo   token missing, not ours, expired, not an access
             token, no openid scope, or its sign-in revoked    401 {"error": "invalid_token",
                                                               "error_description": ...}
                                                               + WWW-Authenticate: Bearer error="invalid_token"
  revoke     token missing                                     400 {"error": "invalid_request"}
             refresh token of another client                   400 {"error": "unauthorized_client"}
             (an unknown token is answered 200, as RFC 7009 says)
  a body sent without Content-Length (e.g. chunked)            411, empty body
  anything else, other pools                                   404 {"error": "not found"}
"""
import base64
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from _serve import parse_args, serve_until_stopped, stop_on_signals

REGION = "us-east-1"
DEFAULT_POOL = "us-east-1_OAuthFake"
REDIRECT_URI = "http://localhost:3000/callback"
USER_SCOPES = frozenset({"openid", "email", "phone", "profile"})
CLIENTS = {
    "fakeclient1": {
        "secret": "fakesecret1",
        "grants": {"client_credentials", "authorization_code", "refresh_token"},
        "api_scopes": ("api/read", "api/write"),
        "pkce_required": False,
    },
    "publicclient1": {
        "secret": None,
        "grants": {"authorization_code", "refresh_token"},
        "api_scopes": (),
        "pkce_required": True,
    },
}
ALICE = {"username": "alice", "sub": "a1b2c3d4-0000-4000-8000-00000000a11c",
         "email": "alice@example.com"}
TOKEN_SECONDS = 3600
CODE_SECONDS = 300
JSON_TYPE = "application/json;charset=UTF-8"
INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": "Access token is expired, disabled, or deleted, "
                         "or the user has globally signed out.",
}
# base64url of {"cty":"JWT","enc":"A256GCM","alg":"RSA-OAEP"}, the header of Cognito's refresh tokens.
REFRESH_HEADER = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def half_hash(value):
    """at_hash of an RS256 id token: base64url of the left half of SHA-256 of the ASCII value."""
    return b64url(hashlib.sha256(value.encode("ascii")).digest()[:16])


def new_refresh_token():
    """An opaque refresh token shaped like Cognito's JWE (header.key.iv.ciphertext.tag)."""
    parts = [secrets.token_bytes(n) for n in (64, 12, 160, 16)]
    return ".".join([REFRESH_HEADER] + [b64url(p) for p in parts])


class Pool:
    """The keys, codes and refresh tokens of the fake pool; safe to use from many threads."""

    def __init__(self, pool_id):
        self.pool_id = pool_id
        self.issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = b64url(hashlib.sha256(f"{pool_id} signing key".encode()).digest())
        self.lock = threading.Lock()
        self.codes = {}        # code -> sign-in (dict), with "expires"
        self.refresh = {}      # refresh token -> sign-in
        self.revoked = set()   # origin_jti of revoked sign-ins

    def jwks(self):
        numbers = self.key.public_key().public_numbers()

        def uint(n):
            return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        return {"keys": [{"alg": "RS256", "e": uint(numbers.e), "kid": self.kid, "kty": "RSA",
                          "n": uint(numbers.n), "use": "sig"}]}

    def sign(self, claims):
        return jwt.encode(claims, self.key, algorithm="RS256",
                          headers={"kid": self.kid, "typ": None})

    def times(self, auth_time=None):
        now = int(time.time())
        return {"auth_time": auth_time or now, "exp": now + TOKEN_SECONDS, "iat": now,
                "jti": str(uuid.uuid4())}

    def client_token(self, client_id, scope):
        access = {"sub": client_id, "token_use": "access", "scope": scope, "iss": self.issuer,
                  "version": 2, "client_id": client_id, **self.times()}
        return {"access_token": self.sign(access), "expires_in": TOKEN_SECONDS,
                "token_type": "Bearer"}

    def user_tokens(self, signin):
        """New access and id tokens for a sign-in (client_id, scope, nonce, origin_jti, ...)."""
        common = {"iss": self.issuer, "origin_jti": signin["origin_jti"],
                  "event_id": signin["event_id"]}
        access = self.sign({
            "sub": ALICE["sub"], **common, "version": 2, "client_id": signin["client_id"],
            "token_use": "access", "scope": signin["scope"],
            **self.times(signin["auth_time"]), "username": ALICE["username"],
        })
        id_claims = {
            "at_hash": half_hash(access), "sub": ALICE["sub"], "email_verified": True,
            **common, "cognito:username": ALICE["username"], "aud": signin["client_id"],
            "token_use": "id", **self.times(signin["auth_time"]), "email": ALICE["email"],
        }
        if signin["nonce"] is not None:
            id_claims["nonce"] = signin["nonce"]
        return {"id_token": self.sign(id_claims), "access_token": access,
                "expires_in": TOKEN_SECONDS, "token_type": "Bearer"}

    def new_code(self, signin):
        code = str(uuid.uuid4())
        with self.lock:
            self.codes[code] = dict(signin, expires=time.time() + CODE_SECONDS)
        return code

    def take_code(self, code):
        with self.lock:
            signin = self.codes.pop(code, None)
        return signin if signin and signin["expires"] > time.time() else None

    def new_refresh(self, signin):
        token = new_refresh_token()
        with self.lock:
            self.refresh[token] = signin
        return token

    def find_refresh(self, token):
        with self.lock:
            return self.refresh.get(token)

    def revoke(self, token):
        with self.lock:
            signin = self.refresh.pop(token)
            self.revoked.add(signin["origin_jti"])

    def user_claims(self, access_token):
        """The claims of a valid access token allowed at userInfo, or None."""
        try:
            claims = jwt.decode(access_token, self.key.public_key(), algorithms=["RS256"],
                                issuer=self.issuer,
                                options={"verify_aud": False, "require": ["exp", "iat"]})
        except jwt.PyJWTError:
            return None
        with self.lock:
            revoked = claims.get("origin_jti") in self.revoked
        if (claims.get("token_use") != "access" or revoked
                or "openid" not in str(claims.get("scope", "")).split()):
            return None
        return claims


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response has Content-Length
    server_version = "oauth-fake"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    # --- plumbing ---------------------------------------------------------------------------

    def send(self, status, payload=None, headers=()):
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", JSON_TYPE)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, code, status=400):
        self.send(status, {"error": code})

    def redirect(self, location):
        self.send(302, headers=[("Location", location)])

    def form(self):
        """The body's form fields (first value of each), or None when it is not a form."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return None
        try:
            fields = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return None
        return {name: values[0] for name, values in fields.items()}

    def client(self, form):
        """The id of the client that authenticated itself (Basic, or form fields), or None."""
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = self.headers.get("Authorization") or ""
        if auth[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(auth[6:], validate=True).decode()
            except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
                return None
            basic_id, _, secret = decoded.partition(":")
            if client_id not in (None, basic_id):
                return None
            client_id = basic_id
        client = CLIENTS.get(client_id)
        if client is None:
            return None
        if client["secret"] is None:
            return client_id if not secret else None
        if secret is None or not hmac.compare_digest(secret.encode(), client["secret"].encode()):
            return None
        return client_id

    # --- routing ----------------------------------------------------------------------------

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def route(self, method):
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            self.send(411)
            return
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        pool = self.server.pool
        well_known = f"/{pool.pool_id}/.well-known/"
        routes = {
            ("GET", well_known + "openid-configuration"): self.discovery,
            ("GET", well_known + "jwks.json"): lambda _query: self.send(200, pool.jwks()),
            ("GET", "/oauth2/authorize"): self.authorize,
            ("POST", "/oauth2/token"): self.token,
            ("GET", "/oauth2/userInfo"): self.user_info,
            ("POST", "/oauth2/userInfo"): self.user_info,
            ("POST", "/oauth2/revoke"): self.revoke,
        }
        handler = routes.get((method, url.path))
        if handler is None:
            self.send(404, {"error": "not found"})
        else:
            handler({k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()})

    # --- endpoints --------------------------------------------------------------------------

    def discovery(self, _query):
        base, pool = self.server.domain or self.server.url, self.server.pool
        keys_at = pool.issuer if self.server.domain else f"{base}/{pool.pool_id}"
        self.send(200, {
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "end_session_endpoint": f"{base}/logout",
            "id_token_signing_alg_values_supported": ["RS256"],
            "issuer": pool.issuer,
            "jwks_uri": f"{keys_at}/.well-known/jwks.json",
            "response_types_supported": ["code", "token"],
            "revocation_endpoint": f"{base}/oauth2/revoke",
            "scopes_supported": ["openid", "email", "phone", "profile"],
            "subject_types_supported": ["public"],
            "token_endpoint": f"{base}/oauth2/token",
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "userinfo_endpoint": f"{base}/oauth2/userInfo",
        })

    def authorize(self, query):
        client_id, redirect_uri = query.get("client_id"), query.get("redirect_uri")
        client = CLIENTS.get(client_id)
        if client is None or "authorization_code" not in client["grants"] \
                or redirect_uri != REDIRECT_URI:
            return self.error("invalid_request")
        if query.get("response_type") != "code":
            return self.error("unsupported_response_type")
        state = {"state": query["state"]} if "state" in query else {}

        def back(**params):
            self.redirect(f"{redirect_uri}?{urlencode({**params, **state})}")

        scope = query.get("scope") or " ".join(sorted(USER_SCOPES))
        if not set(scope.split()) <= USER_SCOPES:
            return back(error="invalid_scope")
        challenge = query.get("code_challenge")
        method = query.get("code_challenge_method") or "plain"
        if (challenge is None and client["pkce_required"]) or method not in ("S256", "plain"):
            return back(error="invalid_request")
        back(code=self.server.pool.new_code({
            "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
            "challenge": challenge, "method": method, "nonce": query.get("nonce"),
            "auth_time": int(time.time()), "origin_jti": str(uuid.uuid4()),
            "event_id": str(uuid.uuid4()),
        }))

    def token(self, _query):
        form = self.form()
        if form is None:
            return self.error("invalid_request")
        client_id = self.client(form)
        if client_id is None:
            return self.error("invalid_client")
        grant = form.get("grant_type")
        grants = {"client_credentials": self.client_credentials,
                  "authorization_code": self.authorization_code,
                  "refresh_token": self.refresh_token}
        if not grant:
            return self.error("invalid_request")
        if grant not in grants:
            return self.error("unsupported_grant_type")
        if grant not in CLIENTS[client_id]["grants"]:
            return self.error("unauthorized_client")
        grants[grant](client_id, form)

    def client_credentials(self, client_id, form):
        allowed = CLIENTS[client_id]["api_scopes"]
        scope = form.get("scope") or " ".join(allowed)
        if not scope.split() or not set(scope.split()) <= set(allowed):
            return self.error("invalid_scope")
        self.send(200, self.server.pool.client_token(client_id, scope))

    def authorization_code(self, client_id, form):
        pool = self.server.pool
        signin = pool.take_code(form.get("code", ""))
        if (signin is None or signin["client_id"] != client_id
                or form.get("redirect_uri") != signin["redirect_uri"]
                or not pkce_ok(signin, form.get("code_verifier"))):
            return self.error("invalid_grant")
        answer = pool.user_tokens(signin)
        self.send(200, {"id_token": answer["id_token"], "access_token": answer["access_token"],
                        "refresh_token": pool.new_refresh(signin),
                        "expires_in": answer["expires_in"], "token_type": answer["token_type"]})

    def refresh_token(self, client_id, form):
        pool = self.server.pool
        signin = pool.find_refresh(form.get("refresh_token", ""))
        if signin is None or signin["client_id"] != client_id:
            return self.error("invalid_grant")
        self.send(200, pool.user_tokens(dict(signin, nonce=None)))

    def user_info(self, _query):
        auth = self.headers.get("Authorization") or ""
        claims = self.server.pool.user_claims(auth[7:]) if auth[:7].lower() == "bearer " else None
        if claims is None:
            return self.send(401, INVALID_TOKEN,
                             headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')])
        self.send(200, {"sub": claims["sub"], "email_verified": "true", "email": ALICE["email"],
                        "username": claims["username"]})

    def revoke(self, _query):
        form = self.form()
        if form is None:
            return self.error("invalid_request")
        client_id = self.client(form)
        if client_id is None:
            return self.error("invalid_client")
        token = form.get("token")
        if not token:
            return self.error("invalid_request")
        pool = self.server.pool
        signin = pool.find_refresh(token)
        if signin is not None:
            if signin["client_id"] != client_id:
                return self.error("unauthorized_client")
            pool.revoke(token)
        self.send(200)


def pkce_ok(signin, verifier):
    """Whether the code_verifier matches the code's challenge (always, for a code without one)."""
    challenge = signin["challenge"]
    if challenge is None:
        return True
    if verifier is None:
        return False
    if signin["method"] == "S256":
        verifier = b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
    return hmac.compare_digest(verifier.encode(), challenge.encode())


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


def main(argv):
    usage = f"usage: {sys.argv[0]} [--pool POOL] [--domain URL] [--ignore-stdin] [--verbose]"
    args = parse_args(argv, usage, value_options=("--pool", "--domain"))
    if args is None:
        return 2
    ignore_stdin, verbose, opts = args

    stop = stop_on_signals()

    server = Server(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    server.url = f"http://{host}:{port}"
    server.pool = Pool(opts["--pool"] or DEFAULT_POOL)
    server.domain = opts["--domain"]
    server.verbose = verbose

    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                     name="serve", daemon=True).start()

    serve_until_stopped(server.url, stop, ignore_stdin)

    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
