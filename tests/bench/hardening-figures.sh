#!/usr/bin/env bash
# Starts `npm start` from a checkout (fresh data dir, free ports, 127.0.0.1 only), runs
# tests/bench/hardening-figures.ts against it and stops it (SIGINT to its process group).
#
#   tests/bench/hardening-figures.sh <checkout> <label> [TOKEN_USERS] [VAR=value …]
#
# TOKEN_USERS: how many users the SSE streams are spread over (1 = admin@macrea.test; 3 adds
# member@macrea.test and a user created with `ops users create`). VAR=value: app env (e.g.
# SSE_MAX_PER_USER=1000). PHASES, SSE_STREAMS, WEBHOOK_MB pass through to the script.
# Writes tests/bench/figures-<label>.json (not committed) and the server log next to it.
set -euo pipefail
checkout=$(cd "$1" && pwd); label=$2; users=${3:-1}; shift 3 || shift $#
here=$(cd "$(dirname "$0")" && pwd)
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
port=$(free_port); pgport=$(free_port); inspect=$(free_port)
data=$(mktemp -d /tmp/figures-data.XXXXXX)
log="$here/figures-$label.server.log"
common=(PORT="$port" HOST=127.0.0.1 WA_DATA_DIR="$data" EMBEDDED_PG_PORT="$pgport")

pgid=""
stop() {
  [ -n "$pgid" ] || return 0
  kill -INT -- "-$pgid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 -- "-$pgid" 2>/dev/null; then echo "[runner] group $pgid still alive, SIGKILL" >&2; kill -KILL -- "-$pgid" 2>/dev/null || true; fi
  pgid=""
}
trap stop EXIT

cd "$checkout"
setsid bash -c 'echo $$ > "$0/pgid"; exec env "${@}" NODE_OPTIONS="--inspect-port=127.0.0.1:'"$inspect"'" npm start' "$data" "${common[@]}" "$@" >"$log" 2>&1 &
for _ in $(seq 1 50); do [ -s "$data/pgid" ] && break; sleep 0.1; done
pgid=$(cat "$data/pgid")
echo "[runner] $label: $checkout on 127.0.0.1:$port (pg $pgport, pgid $pgid), data $data" >&2
for i in $(seq 1 240); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
  kill -0 -- "-$pgid" 2>/dev/null || { echo "[runner] server exited:" >&2; tail -20 "$log" >&2; exit 1; }
  [ "$i" = 240 ] && { echo "[runner] not up after 120 s" >&2; tail -20 "$log" >&2; exit 1; }
  sleep 0.5
done
server_pid=""
for p in $(pgrep -g "$pgid"); do
  if [ "$(cat /proc/$p/comm 2>/dev/null)" = node ] && tr '\0' ' ' </proc/$p/cmdline | grep -q 'launch.mjs start'; then server_pid=$p; fi
done
[ -n "$server_pid" ] || { echo "[runner] server pid not found" >&2; exit 1; }

cli() { env "${common[@]}" npm run -s "$@"; }
tokens=$(cli token -- --tenant macrea --email admin@macrea.test --ttl 2h 2>/dev/null | tail -1)
if [ "$users" -ge 2 ]; then tokens="$tokens,$(cli token -- --tenant macrea --email member@macrea.test --ttl 2h 2>/dev/null | tail -1)"; fi
if [ "$users" -ge 3 ]; then
  cli ops -- users create bench3@macrea.test --password "bench-$RANDOM-$RANDOM-pass" >/dev/null 2>&1
  cli ops -- users add bench3@macrea.test --tenant macrea --role member >/dev/null 2>&1
  tokens="$tokens,$(cli token -- --tenant macrea --email bench3@macrea.test --ttl 2h 2>/dev/null | tail -1)"
fi
password=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$data/secrets.json','utf8')).DEMO_PASSWORD)")
pgpass=$(cat "$data/pg-password" 2>/dev/null || node -e "console.log(JSON.parse(require('fs').readFileSync('$data/secrets.json','utf8')).EMBEDDED_PG_PASSWORD)")
ws_flag=""; [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ] && ws_flag="--experimental-websocket"

cd "$here/../.."
BASE_URL="http://127.0.0.1:$port" SERVER_PID="$server_pid" TOKENS="$tokens" PASSWORD="$password" \
  DATABASE_URL="postgres://postgres:$pgpass@127.0.0.1:$pgport/whatsapp_pro" INSPECT_PORT="$inspect" LABEL="$label" \
  NODE_OPTIONS="$ws_flag" timeout 900 npx tsx tests/bench/hardening-figures.ts >"$here/figures-$label.json"
stop
rm -rf "$data"
echo "[runner] $label done: $here/figures-$label.json" >&2
