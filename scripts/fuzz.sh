#!/usr/bin/env bash
# Fuzz the API against its own contract with schemathesis: a fresh database with the demo data, the
# `guild` binary on a free port, a bearer token of the demo owner, every check on, a bounded number
# of examples per operation. Operations that would lock the token out or end the tenant (sign-out,
# password change, tenant archive, member removal, erasure, role and permission changes…) run last,
# in a second pass with a second token. Fails on any failure: a server error, a response that
# violates its schema, a schema-valid request rejected, an undocumented status or header…
#
#   scripts/fuzz.sh [SCHEMATHESIS ARGS...]
#
# Honours GUILD_FUZZ_MAX_EXAMPLES (per operation, default 25), GUILD_FUZZ_SEED (default 1),
# GUILD_FUZZ_WORKERS (default 1: with more, hypothesis parses lambdas with `ast` from several
# threads, which Python 3.11's `ast` module now and then fails on, as a run error), DATABASE_URL
# (a server to create the throw-away database on; by default the machine's PostgreSQL on 5432,
# else the project-local one), GUILD_FUZZ_KEEP_DB=1.
# Reports (JSON, JUnit, a pytest file that reproduces the failures) go to target/fuzz/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/tools.sh
source "$GUILD_ROOT/scripts/tools.sh"
cd "$GUILD_ROOT"

MAX_EXAMPLES="${GUILD_FUZZ_MAX_EXAMPLES:-25}"
SEED="${GUILD_FUZZ_SEED:-1}"
WORKERS="${GUILD_FUZZ_WORKERS:-1}"
SPEC=api-spec/openapi.json
OUT="$GUILD_ROOT/target/fuzz"
# Operations run last, by method and path (operationIds are still being renamed).
DESTRUCTIVE='^(POST /v1/auth/logout|POST /v1/me/password|POST /v1/tenant/archive|DELETE /v1/members/\{user_id\}|POST /v1/members/\{user_id\}/(deactivate|erase)|PUT /v1/members/\{user_id\}/(role|permissions))$'

# --- Tools ------------------------------------------------------------------
python_venv_locked scripts/fuzz/requirements.txt "$GUILD_TOOLS_DIR/fuzz-venv"
st="$GUILD_TOOLS_DIR/fuzz-venv/bin/schemathesis"
have psql || ensure_pg_binaries

# --- A fresh database ---------------------------------------------------------
MACHINE_PG_URL="postgres://postgres@127.0.0.1:5432/postgres"
if [[ -n "${DATABASE_URL:-}" ]]; then
  server_url="$DATABASE_URL"
elif pg_answers 127.0.0.1:5432 && pg_can_create_databases "$MACHINE_PG_URL"; then
  server_url="$MACHINE_PG_URL"
else
  start_local_pg
  server_url="$LOCAL_PG_URL/postgres"
fi
psql_bin="$(_pg_tool psql)" || die "psql not found"
db="guild_fuzz_$(date +%s)_$$"
db_url="${server_url%/*}/$db"
"$psql_bin" -w -X -q -v ON_ERROR_STOP=1 -d "$server_url" -c "create database $db" >/dev/null
log "Fresh database $db on $(redact_url "${server_url%/*}")"

server_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ "${GUILD_FUZZ_KEEP_DB:-}" != 1 ]]; then
    "$psql_bin" -w -X -q -d "$server_url" -c "drop database if exists $db with (force)" >/dev/null 2>&1 || true
  else
    info "kept database $db"
  fi
  exit "$rc"
}
trap cleanup EXIT INT TERM

# --- The server -----------------------------------------------------------------
log "Building guild"
bin="$(
  cargo build -p guild-api --bin guild --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\/guild\)".*/\1/p' | tail -n 1
)"
[[ -n "$bin" && -x "$bin" ]] || die "cargo build did not report the guild binary"

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
mkdir -p "$OUT"
rm -rf "$OUT/pass1" "$OUT/pass2"
export DATABASE_URL="$db_url" GUILD_ENV=development GUILD_HTTP_ADDR="127.0.0.1:$port" \
  GUILD_API_URL="$base" GUILD_BLOB_DIR="$OUT/blobs" GUILD_LOG="${GUILD_LOG:-warn}" \
  GUILD_LOG_FORMAT=text GUILD_ACCESS_TOKEN_TTL_SECS=7200 \
  GUILD_TENANT_REQUESTS_PER_MIN=1000000 GUILD_API_KEY_REQUESTS_PER_MIN=1000000 \
  GUILD_DAILY_INVITES=FREE=1000000,STARTER=1000000,PRO=1000000 \
  GUILD_STREAMS_PER_MEMBER=100 GUILD_STREAM_TICKETS_PER_MIN=1000000
unset REDIS_URL # the in-process limiter and caches: nothing else to start
"$bin" seed-demo >/dev/null
"$bin" serve >"$OUT/server.log" 2>&1 &
server_pid=$!
_wait_for 60 tcp_answers 127.0.0.1 "$port" || {
  tail -n 30 "$OUT/server.log" >&2
  die "guild did not start on $base (log: $OUT/server.log)"
}
info "guild on $base (log: $OUT/server.log)"

# The demo owner: every permission, so most operations can succeed.
sign_in() {
  curl -fsS -X POST "$base/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"owner@demo.guild.local","password":"guild-demo-password"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
have curl || apt_install curl

# --- Schemathesis -----------------------------------------------------------------
run_pass() {
  local name="$1" token="$2"
  shift 2
  log "schemathesis: $name ($MAX_EXAMPLES examples per operation, seed $SEED)"
  # From target/fuzz, where schemathesis keeps its cache of failures (`st replay ID` there).
  # scripts/fuzz/hooks.py: a fresh Idempotency-Key per request, no forged page cursor in the
  # requests meant to be valid (the reasons are given there).
  # The token goes in as the spec's `bearer` scheme (scripts/fuzz/schemathesis.toml).
  (cd "$OUT" && GUILD_FUZZ_TOKEN="$token" SCHEMATHESIS_HOOKS="$GUILD_ROOT/scripts/fuzz/hooks.py" "$st" --config-file "$GUILD_ROOT/scripts/fuzz/schemathesis.toml" run "$GUILD_ROOT/$SPEC" --url "$base" \
    --checks all \
    --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers "$WORKERS" \
    --request-timeout 30 \
    --suppress-health-check all --generation-database none \
    --report json,junit,pytest --report-dir "$OUT/$name" \
    --output-truncate true \
    "$@")
}

# Both tokens up front: pass 1 fuzzes sign-in with the demo owner's address, and the failures it
# makes count against that account's sign-in limit. Pass 1 leaves out everything that ends a
# session, so the second token is still good when pass 2 starts.
token1="$(sign_in)" || die "could not sign in as the demo owner"
token2="$(sign_in)" || die "could not sign in as the demo owner"
status=0
start=$SECONDS
# Operations are named "METHOD /path".
run_pass pass1 "$token1" --exclude-name-regex "$DESTRUCTIVE" "$@" || status=1
run_pass pass2 "$token2" --include-name-regex "$DESTRUCTIVE" "$@" || status=1
took=$((SECONDS - start))

python3 - "$OUT" "$took" <<'PY' || true
import json, pathlib, sys
out, took = pathlib.Path(sys.argv[1]), sys.argv[2]
ops = examples = failures = 0
by_operation = {}
for name in ("pass1", "pass2"):
    for report in sorted((out / name).glob("json-*.json"))[-1:]:
        data = json.loads(report.read_text())
        ops += data["operations"]["tested"]
        examples += data["test_cases"]["generated"]
        failures += data["test_cases"]["unique_failures"]
        for failure in data["failures"]:
            for operation in failure["operations"]:
                by_operation.setdefault(operation, []).append(f'{failure["code"]} {failure["title"]}')
print(f"\nfuzz figures: {ops} operations tested, {examples} examples generated, {failures} unique failures, {took}s")
for operation, found in sorted(by_operation.items()):
    print(f"  {operation}: {'; '.join(found)}")
PY
((status == 0)) || die "schemathesis found failures (reports in $OUT)"
log "fuzz: no failures"
