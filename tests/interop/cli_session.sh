#!/usr/bin/env bash
# A fixed AWS CLI session against a Cognito user-pools endpoint seeded by seed.py.
#
#   usage: cli_session.sh ENDPOINT_URL POOL_ID
#
# Which `aws` runs: $AWS_CLI if set; else $VENV/bin/aws if it exists; else the
# default interop venv's (<repo>/target/interop-venv/bin/aws, made by
# .ci/setup-python) if it exists; else `aws` from PATH.
#
# Prints ONE JSON object to stdout (stable: usernames only, no tokens or dates):
#   {"page_size_20": [...all usernames...], "max_items_10": [...first 10...]}
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 ENDPOINT_URL POOL_ID" >&2
    exit 2
fi
endpoint="$1"
pool="$2"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if [ -n "${AWS_CLI:-}" ]; then
    aws="$AWS_CLI"
elif [ -n "${VENV:-}" ] && [ -x "$VENV/bin/aws" ]; then
    aws="$VENV/bin/aws"
elif [ -x "$repo/target/interop-venv/bin/aws" ]; then
    aws="$repo/target/interop-venv/bin/aws"
else
    aws="aws"
fi

# Isolate from any user config; fake credentials unless some are set; no
# retries (an error must reach the output, not be replayed twice); no pager.
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-AKIDEXAMPLE}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-fakesecret}"
export AWS_MAX_ATTEMPTS=1
export AWS_RETRY_MODE=standard
export AWS_PAGER=""
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN

base=(cognito-idp list-users --user-pool-id "$pool" --endpoint-url "$endpoint"
      --region us-east-1 --output json)
common=("${base[@]}" --query 'Users[].Username')

# All pages, 20 users per ListUsers request (the CLI follows PaginationToken).
all="$("$aws" "${common[@]}" --page-size 20)"
# Stop after 10 items (one ListUsers request, truncated client-side).
first10="$("$aws" "${common[@]}" --max-items 10)"
# 10 items in pages of 7 (the CLI cuts the second page and hands out a resume token),
# then 15 more from --starting-token.
page="$("$aws" "${base[@]}" --query '{next: NextToken}' --max-items 10 --page-size 7)"
next="$(printf '%s' "$page" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')"
resumed="$("$aws" "${common[@]}" --max-items 15 --page-size 7 --starting-token "$next")"

printf '{"page_size_20": %s, "max_items_10": %s, "resumed_after_10": %s}\n' "$all" "$first10" "$resumed"
