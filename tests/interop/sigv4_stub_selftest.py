#!/usr/bin/env python3
"""Self-test for sigv4_stub.py: real boto3 requests against the verifying stub.

Runs the same checks against three stub instances: plain HTTP without a session
token, plain HTTP with STUB_SESSION_TOKEN, and HTTPS (throwaway self-signed
cert made with `cryptography`, trusted via boto3 `verify=`) with a token.
Prints one line per check; exits 0 when all pass, 1 otherwise.

Usage: sigv4_stub_selftest.py [-v]   (-v: the stub logs requests to stderr)
"""
import datetime
import hashlib
import ipaddress
import json
import os
import select
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ.pop(var, None)
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import boto3  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STUB = os.path.join(HERE, "sigv4_stub.py")
ACCESS_KEY = "AKIDSTUBEXAMPLE"
SECRET_KEY = "stub/secret+key/EXAMPLE"
TOKEN = "FwoGZXIvYXdzEXAMPLE//token+with/odd=chars"
TARGET = "AWSCognitoIdentityProviderService."
JSON_11 = "application/x-amz-json-1.1"
VERBOSE = "-v" in sys.argv[1:]

failures = []
observed = {}  # what boto3 sent, for the summary


def check(label, cond, detail=""):
    print(f"  {'ok  ' if cond else 'FAIL'} {label}" + (f"  ({detail})" if detail and not cond else ""))
    if not cond:
        failures.append(label)


class Stub:
    def __init__(self, token=None, tls=None):
        env = dict(os.environ, STUB_ACCESS_KEY=ACCESS_KEY, STUB_SECRET_KEY=SECRET_KEY)
        env.pop("STUB_SESSION_TOKEN", None)
        if token:
            env["STUB_SESSION_TOKEN"] = token
        cmd = [sys.executable, STUB] + (["--verbose"] if VERBOSE else [])
        if tls:
            cmd += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("listening on "):
            self.proc.kill()
            raise SystemExit(f"stub did not start: {line!r}")
        self.url = line.strip()[len("listening on "):]
        self.line = line

    def stop(self):
        self.proc.stdin.close()  # EOF on stdin stops the stub
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def make_cert(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False,
                                     decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, "stub-cert.pem")
    key_path = os.path.join(directory, "stub-key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def client(url, cafile, secret=SECRET_KEY, access=ACCESS_KEY, token=None):
    c = boto3.session.Session().client(
        "cognito-idp", region_name="us-east-1", endpoint_url=url,
        aws_access_key_id=access, aws_secret_access_key=secret, aws_session_token=token,
        verify=cafile if cafile else None,
        config=Config(retries={"total_max_attempts": 1}),
    )
    sent, raw = [], []
    c.meta.events.register("before-send.cognito-idp",
                           lambda request, **_: sent.append(request) and None)
    c.meta.events.register("after-call.cognito-idp",
                           lambda http_response, **_: raw.append(http_response))
    return c, sent, raw


def post(url, headers, body, cafile):
    # urllib sets Content-Length from the body; a stale one copied from the
    # prepared request would make the stub read only the original length.
    headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
    req = urllib.request.Request(url + "/", data=body, headers=headers, method="POST")
    ctx = ssl.create_default_context(cafile=cafile) if cafile else None
    try:
        with urllib.request.urlopen(req, timeout=15, context=ctx) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def signed_request(url, op, payload, region="us-east-1", secret=SECRET_KEY, token=None):
    body = json.dumps(payload).encode()
    req = AWSRequest(method="POST", url=url + "/", data=body,
                     headers={"Content-Type": JSON_11, "X-Amz-Target": TARGET + op})
    SigV4Auth(Credentials(ACCESS_KEY, secret, token), "cognito-idp", region).add_auth(req)
    return dict(req.prepare().headers), body


def run_suite(title, url, cafile, token):
    print(f"== {title}: {url}")
    expected = {"requests": 0, "verified": 0, "rejected": 0}

    def count(verified=False, rejected=False):
        expected["requests"] += 1
        expected["verified"] += verified
        expected["rejected"] += rejected

    # 1. boto3 signed operation -> verified by botocore on the stub side.
    c, sent, raw = client(url, cafile, token=token)
    c.describe_user_pool(UserPoolId="us-east-1_X")
    body = json.loads(raw[-1].content)
    req = sent[-1]
    auth = req.headers.get("Authorization", b"")
    auth = auth.decode() if isinstance(auth, bytes) else auth
    observed.setdefault(title, {
        "sent_headers": sorted(req.headers.keys()),
        "signed_headers": auth.split("SignedHeaders=")[1].split(",")[0] if auth else None,
    })
    check("boto3 describe_user_pool verified",
          body == {"signed": True, "operation": "DescribeUserPool",
                   "region": "us-east-1", "access_key": ACCESS_KEY}, body)
    check("  ...response Content-Type is x-amz-json-1.1",
          raw[-1].headers.get("Content-Type") == JSON_11, raw[-1].headers.get("Content-Type"))
    count(verified=True)

    # 2. boto3 unsigned operation: no Authorization at all.
    c.initiate_auth(AuthFlow="USER_PASSWORD_AUTH", ClientId="client",
                    AuthParameters={"USERNAME": "u", "PASSWORD": "p"})
    req = sent[-1]
    names = {k.lower() for k in req.headers.keys()}
    body = json.loads(raw[-1].content)
    check("boto3 initiate_auth sends no Authorization / X-Amz-Security-Token / X-Amz-Date",
          not names & {"authorization", "x-amz-security-token", "x-amz-date"}, sorted(names))
    check("  ...stub answers signed=false",
          body == {"signed": False, "operation": "InitiateAuth"}, body)
    count()

    # 3./4. wrong secret key, wrong access key.
    for label, kwargs in (("wrong secret key", {"secret": SECRET_KEY + "x"}),
                          ("wrong access key", {"access": "AKIDSOMEONEELSE"})):
        bad, _, _ = client(url, cafile, token=token, **kwargs)
        try:
            bad.describe_user_pool(UserPoolId="us-east-1_X")
            check(f"{label} rejected", False, "call succeeded")
        except ClientError as err:
            e = err.response["Error"]
            check(f"{label} -> 403 InvalidSignatureException ({e.get('Message')})",
                  e.get("Code") == "InvalidSignatureException"
                  and err.response["ResponseMetadata"]["HTTPStatusCode"] == 403, err.response)
        count(rejected=True)

    # 5. hand-signed, sent with urllib: control, then tampering.
    payload = {"UserPoolId": "us-east-1_X"}
    headers, body = signed_request(url, "DescribeUserPool", payload, token=token)
    status, rh, rb = post(url, headers, body, cafile)
    check("hand-signed urllib request verified", status == 200 and rb.get("signed") is True, (status, rb))
    count(verified=True)

    tampered = body.replace(b"us-east-1_X", b"us-east-1_Y")  # same length
    status, rh, rb = post(url, headers, tampered, cafile)
    check(f"tampered body (same length) -> 403 ({rb.get('message')})",
          status == 403 and rb.get("__type") == "InvalidSignatureException"
          and rh.get("x-amzn-errortype") == "InvalidSignatureException", (status, rb))
    count(rejected=True)

    status, _, rb = post(url, headers, body + b" ", cafile)  # urllib recomputes Content-Length
    check("tampered body (one byte appended) -> 403", status == 403, (status, rb))
    count(rejected=True)

    forged = dict(headers, **{"X-Amz-Target": TARGET + "AdminDeleteUser"})
    status, _, rb = post(url, forged, body, cafile)
    check("tampered X-Amz-Target (signed header) -> 403", status == 403, (status, rb))
    count(rejected=True)

    sha = dict(headers, **{"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    status, _, rb = post(url, sha, tampered, cafile)
    check(f"unsigned x-amz-content-sha256 not matching body -> 403 ({rb.get('message')})",
          status == 403, (status, rb))
    count(rejected=True)

    headers2, body2 = signed_request(url, "ListUsers", {"UserPoolId": "eu-west-1_Z"},
                                     region="eu-west-1", token=token)
    status, _, rb = post(url, headers2, body2, cafile)
    check("other region in scope verified and reported",
          status == 200 and rb.get("region") == "eu-west-1", (status, rb))
    count(verified=True)

    # 6. unsigned operation carrying a signature.
    headers3, body3 = signed_request(url, "InitiateAuth", {"ClientId": "c"}, token=token)
    status, _, rb = post(url, headers3, body3, cafile)
    check("signed InitiateAuth -> 400 UnexpectedSignatureException",
          status == 400 and rb.get("__type") == "UnexpectedSignatureException", (status, rb))
    count(rejected=True)

    # 7. session token handling.
    if token:
        h, b = signed_request(url, "DescribeUserPool", payload)  # no token
        status, _, rb = post(url, h, b, cafile)
        check(f"missing session token -> 403 ({rb.get('message')})", status == 403, (status, rb))
        count(rejected=True)
        h, b = signed_request(url, "DescribeUserPool", payload, token=token + "x")
        status, _, rb = post(url, h, b, cafile)
        check(f"wrong session token -> 403 ({rb.get('message')})", status == 403, (status, rb))
        count(rejected=True)
    else:
        h, b = signed_request(url, "DescribeUserPool", payload, token="unexpected")
        status, _, rb = post(url, h, b, cafile)
        check(f"token sent while none expected -> 403 ({rb.get('message')})", status == 403, (status, rb))
        count(rejected=True)

    # 8. counters.
    status, _, rb = post(url, {"Content-Type": JSON_11, "X-Amz-Target": TARGET + "StubStats"},
                         b"{}", cafile)
    check(f"StubStats {rb}", status == 200 and rb == expected, f"expected {expected}")


def main():
    with tempfile.TemporaryDirectory(prefix="sigv4-stub-") as tmp:
        tls = make_cert(tmp)
        for title, token, use_tls in (("http, no session token", None, False),
                                      ("http, session token", TOKEN, False),
                                      ("https, session token", TOKEN, True)):
            stub = Stub(token=token, tls=tls if use_tls else None)
            try:
                check(f"startup line {stub.line.strip()!r}",
                      stub.url.startswith("https://127.0.0.1:" if use_tls else "http://127.0.0.1:"))
                run_suite(title, stub.url, tls[0] if use_tls else None, token)
            finally:
                rc = stub.stop()
            check("stub exits 0 on stdin EOF", rc == 0, rc)

        # SIGTERM path.
        stub = Stub()
        stub.proc.terminate()
        rc = stub.proc.wait(timeout=15)
        check("stub exits 0 on SIGTERM", rc == 0, rc)

    print("== boto3 request headers (signed operation)")
    for title, info in observed.items():
        print(f"  {title}: sent {info['sent_headers']}")
        print(f"  {'':{len(title)}}  SignedHeaders={info['signed_headers']}")
    if failures:
        print(f"FAILED: {len(failures)} check(s): {failures}")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
