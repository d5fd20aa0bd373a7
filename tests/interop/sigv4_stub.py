#!/usr/bin/env python3
"""Upstream stub for cognito-idp that VERIFIES SigV4 signatures with botocore.

The signature is recomputed with botocore's own SigV4Auth (canonical request,
string to sign, signing key), an implementation independent of the Rust
aws-sigv4 crate the proxy uses, and compared with the one received.

Usage:
  sigv4_stub.py [--tls-cert CERT.pem --tls-key KEY.pem] [--ignore-stdin] [--verbose]

Binds 127.0.0.1 on an OS-chosen port, prints exactly one line
`listening on http://127.0.0.1:PORT` (`https://` with --tls-cert/--tls-key),
then serves until stdin reaches EOF or SIGTERM/SIGINT arrives; exits 0.

Environment: STUB_ACCESS_KEY, STUB_SECRET_KEY (required), STUB_SESSION_TOKEN
(optional). Service name: cognito-idp. The region is whatever the credential
scope names (reported back in the response).

Identity pools too: a target `AWSCognitoIdentityService.OP` is checked the same
way with service name cognito-identity and its own unsigned operations (GetId,
GetCredentialsForIdentity, GetOpenIdToken, UnlinkIdentity); its answers carry
one member more, `"service": "cognito-identity"`.

Responses (always `Content-Type: application/x-amz-json-1.1`):
  unsigned op, no Authorization / X-Amz-Security-Token
      200 {"signed": false, "operation": OP}
  unsigned op with either header
      400 {"__type": "UnexpectedSignatureException", "message": ...}
  any other op, signature verified
      200 {"signed": true, "operation": OP, "region": R, "access_key": AKID}
  any other op, anything wrong
      403 {"__type": "InvalidSignatureException", "message": <what did not match>}
      plus `x-amzn-errortype: InvalidSignatureException`
  op StubStats (no checks; not counted itself)
      200 {"requests": N, "verified": M, "rejected": K}
N counts every other request; M the verified signed ones; K every 400/403.

Checks for signed operations, in order: Authorization is AWS4-HMAC-SHA256 with
Credential/SignedHeaders/Signature; access key == STUB_ACCESS_KEY; service ==
cognito-idp; scope terminator aws4_request; `host` signed and == Host received;
X-Amz-Date present, signed, well-formed, and its date == the scope date;
X-Amz-Security-Token == STUB_SESSION_TOKEN and signed when that is set, absent
when not; every signed header actually received; x-amz-content-sha256, when
sent, == sha256(body) (botocore would otherwise trust it verbatim, so a
tampered body could pass); then the botocore signature over exactly the
SignedHeaders the client listed (values as received) and the exact body bytes.
"""
import hashlib
import hmac
import json
import os
import re
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from _serve import parse_args, serve_until_stopped, stop_on_signals

SERVICE = "cognito-idp"
TARGET_PREFIX = "AWSCognitoIdentityProviderService."
IDENTITY_SERVICE = "cognito-identity"
IDENTITY_TARGET_PREFIX = "AWSCognitoIdentityService."
IDENTITY_UNSIGNED_OPERATIONS = frozenset(
    {"GetId", "GetCredentialsForIdentity", "GetOpenIdToken", "UnlinkIdentity"}
)
CONTENT_TYPE = "application/x-amz-json-1.1"
STATS_OP = "StubStats"

UNSIGNED_OPERATIONS = frozenset(
    """
    AssociateSoftwareToken ChangePassword CompleteWebAuthnRegistration
    ConfirmDevice ConfirmForgotPassword ConfirmSignUp DeleteUser
    DeleteUserAttributes DeleteWebAuthnCredential ForgetDevice ForgotPassword
    GetDevice GetTokensFromRefreshToken GetUser GetUserAttributeVerificationCode
    GetUserAuthFactors GlobalSignOut InitiateAuth ListDevices ListUserSessions
    ListWebAuthnCredentials ResendConfirmationCode RespondToAuthChallenge
    RevokeToken RevokeUserSession SetUserMFAPreference SetUserSettings SignUp
    StartWebAuthnRegistration UpdateAuthEventFeedback UpdateDeviceStatus
    UpdateUserAttributes VerifySoftwareToken VerifyUserAttribute
    """.split()
)

AMZ_DATE_RE = re.compile(r"^\d{8}T\d{6}Z$")


class SignatureMismatch(Exception):
    pass


class ReceivedHeadersSigV4(SigV4Auth):
    """SigV4Auth whose header selection is exactly the client's SignedHeaders.

    Stock SigV4Auth.headers_to_sign takes every request header minus a
    blacklist and adds `host` from the URL when missing; here the request
    carries only the signed headers, and this override makes sure that a
    signed header botocore would itself never sign (e.g. `connection`) is still
    included, so the canonical request covers precisely what the client listed.
    Canonicalisation (value trimming, sorting, joining) stays botocore's.
    """

    def __init__(self, credentials, service_name, region_name, signed_headers):
        super().__init__(credentials, service_name, region_name)
        self._received = signed_headers  # HTTPHeaders, lower-case names

    def headers_to_sign(self, request):
        return self._received


def botocore_signature(*, scheme, host, path, body, signed, amz_date, region,
                       access_key, secret_key, token, service=SERVICE):
    """Recompute the SigV4 signature of a received request with botocore.

    `signed` is an HTTPHeaders holding only the signed headers, as received.
    The timestamp is forced by setting request.context['timestamp'] and calling
    the SigV4Auth steps that add_auth would call after it has stamped
    get_current_datetime() (canonical_request -> string_to_sign -> signature);
    add_auth itself is not called, so nothing global is patched and the
    received X-Amz-Date header is signed as received.
    """
    request = AWSRequest(method="POST", url=f"{scheme}://{host}{path}", data=body)
    # Only the signed headers go on the request: canonical_request() looks for
    # X-Amz-Content-SHA256 among request.headers to decide the payload hash.
    for name in sorted(set(signed.keys())):
        for value in signed.get_all(name):
            request.headers[name] = value
    request.context["timestamp"] = amz_date
    auth = ReceivedHeadersSigV4(
        Credentials(access_key, secret_key, token), service, region, signed
    )
    canonical_request = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical_request)
    return auth.signature(string_to_sign, request), canonical_request


def parse_authorization(value):
    scheme, _, rest = value.strip().partition(" ")
    if scheme != "AWS4-HMAC-SHA256":
        raise SignatureMismatch(f"Authorization scheme is {scheme!r}, expected AWS4-HMAC-SHA256")
    fields = {}
    for part in rest.split(","):
        key, eq, val = part.strip().partition("=")
        if not eq:
            raise SignatureMismatch(f"malformed Authorization component {part.strip()!r}")
        if key in fields:
            raise SignatureMismatch(f"duplicate Authorization component {key}")
        fields[key] = val.strip()
    for key in ("Credential", "SignedHeaders", "Signature"):
        if key not in fields:
            raise SignatureMismatch(f"Authorization has no {key}")
    parts = fields["Credential"].rsplit("/", 4)
    if len(parts) != 5:
        raise SignatureMismatch(f"malformed Credential {fields['Credential']!r}")
    signed_headers = fields["SignedHeaders"].split(";")
    if any(h != h.strip().lower() or not h for h in signed_headers):
        raise SignatureMismatch(f"SignedHeaders not lower-case/well-formed: {fields['SignedHeaders']!r}")
    if signed_headers != sorted(signed_headers):
        raise SignatureMismatch(f"SignedHeaders not sorted: {fields['SignedHeaders']!r}")
    return parts, signed_headers, fields["Signature"]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = self.verified = self.rejected = 0

    def record(self, status, verified):
        with self.lock:
            self.requests += 1
            if verified:
                self.verified += 1
            if status >= 400:
                self.rejected += 1

    def snapshot(self):
        with self.lock:
            return {"requests": self.requests, "verified": self.verified,
                    "rejected": self.rejected}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response has Content-Length
    server_version = "sigv4-stub"
    sys_version = ""

    def setup(self):
        # TLS handshake in the per-connection thread, not in the accept loop.
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    def _send(self, status, payload, error_type=None):
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
        if error_type:
            self.send_header("x-amzn-errortype", error_type)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_POST(self):
        body = self._read_body()
        target = self.headers.get("X-Amz-Target") or ""
        op = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else None
        service, unsigned_operations, extra = SERVICE, UNSIGNED_OPERATIONS, {}
        if target.startswith(IDENTITY_TARGET_PREFIX):
            op = target[len(IDENTITY_TARGET_PREFIX):] or None
            service, unsigned_operations = IDENTITY_SERVICE, IDENTITY_UNSIGNED_OPERATIONS
            extra = {"service": IDENTITY_SERVICE}

        if op == STATS_OP:
            self._send(200, self.server.stats.snapshot())
            return

        if op in unsigned_operations:
            present = [h for h in ("Authorization", "X-Amz-Security-Token") if h in self.headers]
            if present:
                self._reply(400, {
                    "__type": "UnexpectedSignatureException",
                    "message": f"{op} is an unsigned operation but the request has {', '.join(present)}",
                }, "UnexpectedSignatureException")
            else:
                self._reply(200, {"signed": False, "operation": op, **extra})
            return

        try:
            if op is None:
                raise SignatureMismatch(f"X-Amz-Target {target!r} is not {TARGET_PREFIX}<Operation>")
            region, akid = self._verify(body, service)
        except SignatureMismatch as exc:
            self._reply(403, {"__type": "InvalidSignatureException", "message": str(exc)},
                        "InvalidSignatureException")
            return
        self._reply(200, {"signed": True, "operation": op, "region": region, "access_key": akid,
                          **extra}, verified=True)

    def _reply(self, status, payload, error_type=None, verified=False):
        self.server.stats.record(status, verified)
        if self.server.verbose and status >= 400:
            self.log_message("%s", payload.get("message"))
        self._send(status, payload, error_type)

    def _verify(self, body, expected_service=SERVICE):
        cfg = self.server.creds
        auth_values = self.headers.get_all("Authorization") or []
        if len(auth_values) != 1:
            raise SignatureMismatch(f"expected one Authorization header, got {len(auth_values)}")
        (akid, date, region, service, term), signed_names, signature = parse_authorization(auth_values[0])

        if akid != cfg["access_key"]:
            raise SignatureMismatch(f"access key {akid!r} != expected {cfg['access_key']!r}")
        if service != expected_service:
            raise SignatureMismatch(
                f"credential scope service {service!r} != {expected_service!r}")
        if term != "aws4_request":
            raise SignatureMismatch(f"credential scope ends in {term!r}, not aws4_request")
        if not region:
            raise SignatureMismatch("credential scope has an empty region")

        host_values = self.headers.get_all("Host") or []
        if "host" not in signed_names:
            raise SignatureMismatch("host is not among SignedHeaders")
        if len(host_values) != 1:
            raise SignatureMismatch(f"expected one Host header, got {len(host_values)}")
        host = host_values[0].strip()

        amz_date = (self.headers.get("X-Amz-Date") or "").strip()
        if not amz_date:
            raise SignatureMismatch("no X-Amz-Date header")
        if "x-amz-date" not in signed_names:
            raise SignatureMismatch("x-amz-date is not among SignedHeaders")
        if not AMZ_DATE_RE.match(amz_date):
            raise SignatureMismatch(f"malformed X-Amz-Date {amz_date!r}")
        if amz_date[:8] != date:
            raise SignatureMismatch(f"credential scope date {date!r} != X-Amz-Date day {amz_date[:8]!r}")

        token = self.headers.get("X-Amz-Security-Token")
        if cfg["token"]:
            if token is None:
                raise SignatureMismatch("X-Amz-Security-Token missing (STUB_SESSION_TOKEN is set)")
            if token != cfg["token"]:
                raise SignatureMismatch("X-Amz-Security-Token != STUB_SESSION_TOKEN")
            if "x-amz-security-token" not in signed_names:
                raise SignatureMismatch("x-amz-security-token is not among SignedHeaders")
        elif token is not None:
            raise SignatureMismatch("X-Amz-Security-Token sent but STUB_SESSION_TOKEN is not set")

        content_sha = self.headers.get("X-Amz-Content-SHA256")
        if content_sha is not None:
            actual = hashlib.sha256(body).hexdigest()
            if content_sha.strip() != actual:
                raise SignatureMismatch(
                    f"x-amz-content-sha256 {content_sha.strip()!r} != sha256(body) {actual!r}")

        signed = HTTPHeaders()
        for name in signed_names:
            values = self.headers.get_all(name)
            if not values:
                raise SignatureMismatch(f"signed header {name!r} was not received")
            for value in values:
                signed[name] = value  # HTTPMessage.__setitem__ appends

        scheme = "https" if self.server.tls else "http"
        expected, canonical_request = botocore_signature(
            scheme=scheme, host=host, path=self.path, body=body, signed=signed,
            amz_date=amz_date, region=region, access_key=akid,
            secret_key=cfg["secret_key"], token=cfg["token"], service=expected_service,
        )
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            if self.server.verbose:
                self.log_message("canonical request (botocore):\n%s", canonical_request)
            raise SignatureMismatch(
                "signature mismatch: the request signature does not match botocore's "
                f"(SignedHeaders={';'.join(signed_names)}, body {len(body)} bytes)")
        return region, akid


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, TimeoutError)):
            if self.verbose:
                print(f"sigv4_stub: {client_address}: {exc!r}", file=sys.stderr)
            return
        super().handle_error(request, client_address)


def main(argv):
    usage = (f"usage: {sys.argv[0]} [--tls-cert CERT.pem --tls-key KEY.pem] "
             "[--ignore-stdin] [--verbose]")
    args = parse_args(argv, usage, value_options=("--tls-cert", "--tls-key"))
    if args is None:
        return 2
    ignore_stdin, verbose, opts = args
    cert, key = opts["--tls-cert"], opts["--tls-key"]
    if (cert is None) != (key is None):
        print("sigv4_stub: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2

    try:
        creds = {
            "access_key": os.environ["STUB_ACCESS_KEY"],
            "secret_key": os.environ["STUB_SECRET_KEY"],
            "token": os.environ.get("STUB_SESSION_TOKEN") or None,
        }
    except KeyError as exc:
        print(f"sigv4_stub: {exc.args[0]} is not set", file=sys.stderr)
        return 2

    stop = stop_on_signals()

    server = Server(("127.0.0.1", 0), Handler)
    server.creds = creds
    server.stats = Stats()
    server.verbose = verbose
    server.tls = cert is not None
    if server.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    host, port = server.server_address[:2]

    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                     name="serve", daemon=True).start()

    scheme = "https" if server.tls else "http"
    serve_until_stopped(f"{scheme}://{host}:{port}", stop, ignore_stdin)

    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
