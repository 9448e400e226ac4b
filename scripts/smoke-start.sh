#!/usr/bin/env bash
# `npm start` with no DATABASE_URL, as a new user runs it: up on an embedded Postgres, one payment
# created with the printed key and curl line, the sandbox's webhook for it applied, the merchants CLI
# against the same database, `npm run demo` with the printed key, then a clean SIGTERM shutdown (exit 0).
# Prints the time from start to the first 201.
set -euo pipefail
cd "$(dirname "$0")/.."

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
work=$(mktemp -d)
chmod 755 "$work"
log="$work/start.log"
export PORT=$(free_port) EMBEDDED_PG_PORT=$(free_port) SANDBOX_PORT=$(free_port)
export EMBEDDED_PG_DIR="$work/data/postgres" LOG_LEVEL=warn
unset DATABASE_URL PROVIDER_URL

started=$(date +%s%N)
# Its own process group, so a failed run can be cleaned up whole (npm, the server, Postgres).
setsid npm start >"$log" 2>&1 &
pid=$!
cleanup() { kill -9 -- "-$pid" 2>/dev/null || true; pkill -9 -f "$work/data/postgres" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 1 120); do
  grep -q 'test key:' "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "smoke: npm start exited early"; exit 1; }
  sleep 0.5
done
grep -q 'test key:' "$log" || { cat "$log"; echo "smoke: no test key printed"; exit 1; }

# The printed curl line, run as printed, with -w to see the status.
curl_line=$(grep -m1 '^  curl ' "$log")
status=$(eval "${curl_line/curl -s/curl -s -o $work/body.json -w '%{http_code}'}")
first_201=$(( ($(date +%s%N) - started) / 1000000 ))
[ "$status" = "201" ] || { cat "$log" "$work/body.json"; echo "smoke: create answered $status"; exit 1; }
grep -q '"status":"succeeded"' "$work/body.json" || { cat "$work/body.json"; echo "smoke: payment not succeeded"; exit 1; }
echo "smoke: npm start → first 201 in ${first_201} ms (includes tsc build and embedded Postgres init)"

# The sandbox's charge.succeeded webhook came back, signed, to the API's own inbox and was applied.
db_url="postgres://postgres:postgres@127.0.0.1:$EMBEDDED_PG_PORT/idempay"
inbox=""
for _ in $(seq 1 40); do
  inbox=$(DATABASE_URL="$db_url" node_modules/.bin/node dist/cli/main.js inbox list --status applied 2>/dev/null || true)
  printf '%s' "$inbox" | grep -q '"type":"charge.succeeded"' && break
  sleep 0.5
done
printf '%s' "$inbox" | grep -q '"type":"charge.succeeded"' || { cat "$log"; echo "smoke: the sandbox's webhook was not applied: $inbox"; exit 1; }
echo "smoke: the sandbox's charge.succeeded webhook reached the inbox and was applied"

# The demo's operator console: the admin token printed at start logs in (in a form body, never a URL).
admin_token=$(sed -n 's/^operator console: .* (admin token: \(.*\))$/\1/p' "$log")
[ -n "$admin_token" ] || { cat "$log"; echo "smoke: no console admin token printed"; exit 1; }
console_status=$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode "token=$admin_token" "http://127.0.0.1:$PORT/console/login")
[ "$console_status" = "303" ] || { echo "smoke: the console login answered $console_status"; exit 1; }
echo "smoke: the operator console logs in with the printed admin token"

cli_out=$(DATABASE_URL="postgres://postgres:postgres@127.0.0.1:$EMBEDDED_PG_PORT/idempay" npm run -s cli -- merchants create --name "Smoke shop" 2>/dev/null)
[ "$(printf '%s\n' "$cli_out" | wc -l)" = "1" ] && printf '%s' "$cli_out" | grep -q '"test_key":"sk_test_' \
  || { echo "smoke: the CLI did not print one JSON line: $cli_out"; exit 1; }

# The narrated demo, with the printed key: a step that misbehaves fails the smoke.
key=$(sed -n 's/.*test key: \(sk_test_[^ ]*\).*/\1/p' "$log" | head -n1)
IDEMPAY_KEY="$key" IDEMPAY_URL="http://127.0.0.1:$PORT" SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT" npm run -s demo \
  || { cat "$log"; echo "smoke: npm run demo failed"; exit 1; }

# SIGTERM to the server process itself, as a process manager would send it (npm run, which wraps it,
# would report any signal it receives as its own exit code 143).
server=$(pgrep -f '^node dist/main.js' -P "$(pgrep -d, -P "$pid")")
kill -TERM "$server"
code=0
wait "$pid" || code=$?
[ "$code" = "0" ] || { cat "$log"; echo "smoke: npm start exited with $code after SIGTERM"; exit 1; }
echo "smoke: ok (payment created, CLI ok, demo ok, clean shutdown)"
