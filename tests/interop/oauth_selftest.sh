#!/usr/bin/env bash
# Checks oauth_fake.py itself: oauth_session.py twice against it, then, with curl, the answers
# the session does not reach (every error case of its docstring but the expired code, a wrong or
# missing PKCE verifier, plain PKCE, a nonce, a revoked sign-in's access token).
#
# usage: tests/interop/oauth_selftest.sh [-v]     (from anywhere; needs curl)
# Python: $VENV/bin/python, else target/interop-venv/bin/python (made by .ci/setup-python).
# One line per check on stderr with -v; exit 0 when all pass, 1 at the first failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${VENV:-$root/target/interop-venv}/bin/python
verbose=${1:-}
pool=us-east-1_OAuthFake
redirect=http://localhost:3000/callback
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

coproc FAKE { "$py" "$here/oauth_fake.py"; }
read -r line <&"${FAKE[0]}"
url=${line#listening on }

pass() { [[ $verbose == -v ]] && echo "ok   $1" >&2; return 0; }
fail() { echo "FAIL $1" >&2; exit 1; }

# http NAME EXPECTED_STATUS EXPECTED_BODY CURL_ARGS...: one request, status and exact body.
http() {
    local name=$1 status=$2 body=$3
    shift 3
    local got
    got=$(curl -sS -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@")
    [[ $got == "$status" ]] || fail "$name: HTTP $got, expected $status: $(cat "$tmp/body")"
    [[ $(cat "$tmp/body") == "$body" ]] || fail "$name: body $(cat "$tmp/body"), expected $body"
    pass "$name"
}
header() { tr -d '\r' <"$tmp/headers" | sed -n "s/^$1: //Ip"; }
member() { "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$tmp/body" "$1"; }
claim() {  # claim TOKEN NAME: a claim of a JWT, unverified
    "$py" -c 'import jwt,sys; print(jwt.decode(sys.argv[1], options={"verify_signature": False}).get(sys.argv[2]))' "$1" "$2"
}
authorize() {  # authorize QUERY: 302 expected; prints the Location
    http "authorize $1" 302 "" "$url/oauth2/authorize?$1"
    header location
}
code_of() { sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$1"; }

token=$url/oauth2/token
basic=(-u fakeclient1:fakesecret1)
err() { printf '{"error": "%s"}' "$1"; }
cb="redirect_uri=$redirect"

for run in 1 2; do
    out=$("$py" "$here/oauth_session.py" "$url" "$pool") || fail "oauth_session.py run $run"
    [[ $out == '{"ok": true, "steps": 13, "seen": ['* ]] || fail "oauth_session.py run $run: $out"
    pass "oauth_session.py run $run"
done

# Discovery, JWKS, other paths.
curl -sS -o "$tmp/body" -D "$tmp/headers" "$url/$pool/.well-known/openid-configuration"
[[ $(member jwks_uri) == "$url/$pool/.well-known/jwks.json" ]] || fail "discovery: jwks_uri"
[[ $(header content-type) == "application/json;charset=UTF-8" ]] || fail "discovery: content type"
pass "discovery"
http "other pool" 404 '{"error": "not found"}' "$url/us-east-1_Other/.well-known/jwks.json"
http "unknown path" 404 '{"error": "not found"}' "$url/logout"
http "GET token" 404 '{"error": "not found"}' "$token"

# Authorize errors.
q="response_type=code&client_id=fakeclient1&$cb"
http "authorize unknown client" 400 "$(err invalid_request)" \
    "$url/oauth2/authorize?response_type=code&client_id=nobody&$cb"
http "authorize other redirect_uri" 400 "$(err invalid_request)" \
    "$url/oauth2/authorize?response_type=code&client_id=fakeclient1&redirect_uri=http://evil/cb"
http "authorize response_type token" 400 "$(err unsupported_response_type)" \
    "$url/oauth2/authorize?response_type=token&client_id=fakeclient1&$cb"
[[ $(authorize "$q&scope=api/read&state=s1") == "$redirect?error=invalid_scope&state=s1" ]] \
    || fail "authorize scope api/read"
[[ $(authorize "response_type=code&client_id=publicclient1&$cb") == "$redirect?error=invalid_request" ]] \
    || fail "public client without PKCE"
[[ $(authorize "$q&code_challenge=x&code_challenge_method=S512") == "$redirect?error=invalid_request" ]] \
    || fail "unknown code_challenge_method"

# Token errors.
http "no client auth" 400 "$(err invalid_client)" -d grant_type=client_credentials "$token"
http "unknown client" 400 "$(err invalid_client)" -u nobody:x -d grant_type=client_credentials "$token"
http "secret from the public client" 400 "$(err invalid_client)" \
    -d client_id=publicclient1 -d client_secret=x -d grant_type=client_credentials "$token"
http "Basic and form client_id differ" 400 "$(err invalid_client)" "${basic[@]}" \
    -d client_id=publicclient1 -d grant_type=client_credentials "$token"
http "JSON body" 400 "$(err invalid_request)" "${basic[@]}" -H 'Content-Type: application/json' \
    -d '{"grant_type": "client_credentials"}' "$token"
http "no grant_type" 400 "$(err invalid_request)" "${basic[@]}" -d scope=api/read "$token"
http "grant password" 400 "$(err unsupported_grant_type)" "${basic[@]}" -d grant_type=password "$token"
http "client_credentials, public client" 400 "$(err unauthorized_client)" \
    -d client_id=publicclient1 -d grant_type=client_credentials "$token"
http "client_credentials scope openid" 400 "$(err invalid_scope)" "${basic[@]}" \
    -d grant_type=client_credentials -d scope=openid "$token"
curl -sS -o "$tmp/body" "${basic[@]}" -d grant_type=client_credentials "$token"
[[ $(claim "$(member access_token)" scope) == "api/read api/write" ]] || fail "default scopes"
pass "client_credentials without scope: api/read api/write"
machine_token=$(member access_token)

# PKCE: wrong verifier burns the code; missing verifier; plain.
verifier=$(printf 'v%.0s' {1..50})
challenge=$("$py" -c 'import base64,hashlib,sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).rstrip(b"=").decode())' "$verifier")
code=$(code_of "$(authorize "$q&scope=openid&code_challenge=$challenge&code_challenge_method=S256")")
http "wrong verifier" 400 "$(err invalid_grant)" "${basic[@]}" -d grant_type=authorization_code \
    -d "code=$code" -d "$cb" -d code_verifier=wrong-verifier-wrong-verifier-wrong-verifier "$token"
http "right verifier after a wrong one" 400 "$(err invalid_grant)" "${basic[@]}" \
    -d grant_type=authorization_code -d "code=$code" -d "$cb" -d "code_verifier=$verifier" "$token"
code=$(code_of "$(authorize "$q&scope=openid&code_challenge=$challenge&code_challenge_method=S256")")
http "no verifier" 400 "$(err invalid_grant)" "${basic[@]}" -d grant_type=authorization_code \
    -d "code=$code" -d "$cb" "$token"
code=$(code_of "$(authorize "$q&scope=openid&code_challenge=$challenge")")
http "code of another client" 400 "$(err invalid_grant)" -d client_id=publicclient1 \
    -d grant_type=authorization_code -d "code=$code" -d "$cb" -d "code_verifier=$verifier" "$token"
code=$(code_of "$(authorize "$q&scope=openid&code_challenge=$challenge")")
http "other redirect_uri at the token endpoint" 400 "$(err invalid_grant)" "${basic[@]}" \
    -d grant_type=authorization_code -d "code=$code" -d redirect_uri=http://localhost:3000/other \
    -d "code_verifier=$verifier" "$token"
code=$(code_of "$(authorize "$q&scope=openid+email&code_challenge=$verifier&code_challenge_method=plain&nonce=n-123")")
curl -sS -o "$tmp/body" "${basic[@]}" -d grant_type=authorization_code -d "code=$code" -d "$cb" \
    -d "code_verifier=$verifier" "$token"
[[ $(claim "$(member id_token)" nonce) == n-123 ]] || fail "plain PKCE with a nonce: $(cat "$tmp/body")"
pass "plain PKCE; the nonce in the id token"
refresh=$(member refresh_token)
access=$(member access_token)
[[ ${#refresh} -gt 350 && $(tr -cd . <<<"$refresh" | wc -c) -eq 4 ]] || fail "refresh token shape"
pass "refresh token: ${#refresh} characters, 5 parts"
curl -sS -o "$tmp/body" "${basic[@]}" -d grant_type=refresh_token -d "refresh_token=$refresh" "$token"
[[ $(claim "$(member id_token)" nonce) == None ]] || fail "a nonce in a refreshed id token"
pass "no nonce in a refreshed id token"

# userInfo and revoke.
http "userInfo, no openid scope" 401 "$(curl -s "$url/oauth2/userInfo")" \
    -H "Authorization: Bearer $machine_token" "$url/oauth2/userInfo"
[[ $(header www-authenticate) == 'Bearer error="invalid_token"' ]] || fail "WWW-Authenticate"
http "refresh token of another client" 400 "$(err invalid_grant)" -d client_id=publicclient1 \
    -d grant_type=refresh_token -d "refresh_token=$refresh" "$token"
http "revoke, wrong secret" 400 "$(err invalid_client)" -u fakeclient1:nope -d "token=$refresh" \
    "$url/oauth2/revoke"
http "revoke, other client" 400 "$(err unauthorized_client)" -d client_id=publicclient1 \
    -d "token=$refresh" "$url/oauth2/revoke"
http "revoke, no token" 400 "$(err invalid_request)" "${basic[@]}" -d x=1 "$url/oauth2/revoke"
http "userInfo before revoke" 200 \
    '{"sub": "a1b2c3d4-0000-4000-8000-00000000a11c", "email_verified": "true", "email": "alice@example.com", "username": "alice"}' \
    -H "Authorization: Bearer $access" "$url/oauth2/userInfo"
http "revoke" 200 "" "${basic[@]}" -d "token=$refresh" "$url/oauth2/revoke"
http "revoke again (unknown token)" 200 "" "${basic[@]}" -d "token=$refresh" "$url/oauth2/revoke"
http "refresh after revoke" 400 "$(err invalid_grant)" "${basic[@]}" -d grant_type=refresh_token \
    -d "refresh_token=$refresh" "$token"
http "userInfo after revoke" 401 "$(curl -s "$url/oauth2/userInfo")" \
    -H "Authorization: Bearer $access" "$url/oauth2/userInfo"

exec {FAKE[1]}>&-
wait "$FAKE_PID" || fail "oauth_fake.py did not exit 0"
echo "oauth_selftest: all checks passed" >&2
