# The pieces the wrk-driven benchmarks share (sourced by hotpath.sh and wrk.sh): the release
# build and the benchmark binary, the ListUsers request as a wrk script, and starting a server
# and stopping it with the script. Expects `work` (the scratch directory) and `me` (the
# script's name, for messages) to be set.

# build: the release binary and the benchmark binary; sets `vcr` and `bench`.
build() {
  echo "$me: building (release)" >&2
  cargo build --release --locked --quiet --bin cognito-vcr
  bench="$(cargo bench --locked --bench replay --no-run 2>&1 | grep -o 'target/release/deps/replay-[0-9a-f]*' | head -n 1)"
  [ -x "$bench" ] || { echo "$me: no benchmark binary" >&2; exit 1; }
  vcr=target/release/cognito-vcr
}

# post_lua: $work/post.lua, the ListUsers call every load generator sends.
post_lua() {
  cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"UserPoolId":"us-east-1_Bench","Limit":60}'
wrk.headers["X-Amz-Target"] = "AWSCognitoIdentityProviderService.ListUsers"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
LUA
}

# Every server started is stopped when the script exits.
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start NAME CMD...: run a server, wait for its `listening on URL` line; sets URL_<NAME>, PID_<NAME>.
start() {
  local name="$1"; shift
  local out="$work/$name.out"
  "$@" >"$out" 2>"$work/$name.log" &
  local pid=$!
  pids+=("$pid")
  local url=""
  for _ in $(seq 1 400); do
    url="$(head -n 1 "$out" 2>/dev/null | sed -n 's/^listening on //p')"
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
    sleep 0.05
  done
  [ -n "$url" ] || { echo "$me: $name did not start" >&2; exit 1; }
  printf -v "URL_$name" '%s' "$url"
  printf -v "PID_$name" '%s' "$pid"
}
