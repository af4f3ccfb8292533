#!/usr/bin/env bash
# `make bench`: the benchmark suite, end to end.
#
#  1. installs wrk (Debian) if missing and builds `guild` in release mode;
#  2. loads the data set (`guild seed-bench`) into a template database on the project-local
#     PostgreSQL cluster (once per seed, scale and migrations), and copies it to `guild_bench`
#     for this run, so every run starts from the same data;
#  3. captures each read endpoint's SQL from the PostgreSQL log (log_statement = all, one
#     request at a time between marker statements);
#  4. starts the server (worker included) and runs wrk against every scenario at each number of
#     connections, sampling the server's CPU and memory: the bare handler (H), /livez, the
#     dashboard, a module's progress, the leaderboard, the member's catalog (`GET /v1/modules`,
#     20 a page), the module page (`GET /v1/modules/{id}`), the manager dashboard
#     (`GET /v1/manager-dashboard` as `user6`, whose subtree holds about 1,000 members in 100
#     groups assigned every published module), completing sections, submitting
#     quizzes, redeeming one contended reward, asking questions (retrieval over what the member
#     may see, full-text search on this data set); before a read's runs, pgbench runs its captured
#     SQL with as many clients as the server's pool: D, what the database alone sustains for it;
#     then, per scenario, 1000 connections that each pause a random think time, offered 55 % of
#     the read ceiling (half a write's best throughput), for the latency at that many clients;
#     then 1,000 idle keep-alive connections, for the memory each costs (scripts/bench/idle.py);
#  5. push (last, on a freshly started server): opens 1,000 event streams and times the push
#     of a notification from a write's commit to its client, opens streams up to 10,000 and
#     reads the server's RSS, then times one module published to every member reaching each
#     open stream (scripts/bench/push.py);
#  6. chat (on a freshly started server, the send limit raised): 500 members join the tenant's
#     room and open their streams; paced messages are timed from the send's response to each
#     subscriber, then a burst gives the send throughput, then the room is filled to 100,000
#     messages and history pages are timed (scripts/bench/chat.py);
#  7. writes target/bench/report.{md,json}: throughput, p50/p99/p99.9, errors, CPU, RSS, and for
#     reads E / (1/(1/H + 1/D)); the push figures and their goals.
#
# Settings (environment): BENCH_DURATION (seconds per run, 10), BENCH_CONNECTIONS
# ("16 64 256 1000"), BENCH_SCENARIOS (all), BENCH_SEED (1), BENCH_SCALE (1), BENCH_OUT
# (target/bench), GUILD_DB_POOL_SIZE (16), GUILD_HTTP_WORKERS (CPUs), BENCH_CAPTURES (10),
# BENCH_USERS (1000: connections of the think-time runs), BENCH_PUSH_STREAMS (1000),
# BENCH_IDLE_STREAMS (10000), BENCH_PUSH_SAMPLES (500), BENCH_PUSH_RATE (20 writes/s),
# BENCH_CHAT_SUBSCRIBERS (500), BENCH_CHAT_HISTORY (100000), BENCH_IDLE_CONNECTIONS (1000),
# BENCH_BIN (a `guild` binary to measure instead of building one, e.g. a copy of an earlier
# build to compare against; its migrations must match the tree's, which seeds the data set).
#
# BENCH_QUICK=1, for use while developing: the reads only (bare, dashboard, module, leaderboard,
# catalog, module_page, manager_dashboard) at 16 connections, 5 s runs, 3 captures per read, no
# think-time runs, no idle, push or chat scenarios; the report marks itself as a quick run. With
# the release build and the data set's template already there, it takes about two minutes.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$GUILD_ROOT"

bench_dir="$GUILD_ROOT/scripts/bench"
out="${BENCH_OUT:-$GUILD_ROOT/target/bench}"
quick="$([[ "${BENCH_QUICK:-}" == 1 ]] && echo true || echo false)"
if [[ "$quick" == true ]]; then
  duration="${BENCH_DURATION:-5}"
  connections="${BENCH_CONNECTIONS:-16}"
  scenarios="${BENCH_SCENARIOS:-bare dashboard module leaderboard catalog module_page manager_dashboard}"
  captures="${BENCH_CAPTURES:-3}"
else
  duration="${BENCH_DURATION:-10}"
  connections="${BENCH_CONNECTIONS:-16 64 256 1000}"
  scenarios="${BENCH_SCENARIOS:-bare livez dashboard module leaderboard catalog module_page manager_dashboard section_complete quiz_submit redeem question push chat}"
  captures="${BENCH_CAPTURES:-10}"
fi
reads="dashboard module leaderboard catalog module_page manager_dashboard"
seed="${BENCH_SEED:-1}"
scale="${BENCH_SCALE:-1}"
pool="${GUILD_DB_POOL_SIZE:-16}"
users="${BENCH_USERS:-1000}"
threads=2
api_port=18080
bare_port=18081
started_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# --- tools -------------------------------------------------------------------------------
have wrk || apt_install wrk
have curl || apt_install curl
have python3 || apt_install python3
ensure_pg_binaries
psql_bin="$(_pg_tool psql)" || die "psql not found"
# pgbench ships with the server package (postgresql-NN), next to initdb.
pgbench_bin="$(_pg_tool pgbench)" || { apt_install postgresql; pgbench_bin="$(_pg_tool pgbench)"; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[[ "$(ulimit -n)" -gt 2100 ]] || die "wrk needs more open files than ulimit -n allows ($(ulimit -n))"

if [[ -n "${BENCH_BIN:-}" ]]; then
  bin="$(realpath "$BENCH_BIN")"
  [[ -x "$bin" ]] || die "BENCH_BIN is not an executable: $BENCH_BIN"
  log "Measuring $bin (BENCH_BIN; not built)"
else
  log "Building guild (release)"
  bin="$(
    cargo build --release -p guild-api --bin guild --message-format=json-render-diagnostics |
      sed -n 's/.*"executable":"\([^"]*\/guild\)".*/\1/p' | tail -n 1
  )"
  [[ -n "$bin" && -x "$bin" ]] || die "cargo build did not report the guild binary"
fi

rm -rf "$out"
mkdir -p "$out/data" "$out/sql"

# --- database ----------------------------------------------------------------------------
start_local_pg
pg=(-h 127.0.0.1 -p "$GUILD_LOCAL_PG_PORT" -U postgres -w -X -q -v ON_ERROR_STOP=1)
sql() { "$psql_bin" "${pg[@]}" -d "$1" -tA -c "$2"; }
# The template is rebuilt when the schema or the generator changes.
data_hash="$(cat migrations/*/up.sql crates/bench/src/lib.rs | sha256sum | cut -c1-10)"
template="guild_bench_t_${seed}_${scale//./_}_${data_hash}"
export GUILD_ENV=development GUILD_MIGRATE_ON_START=false
export GUILD_JWT_SECRET="bench-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export GUILD_ACCESS_TOKEN_TTL_SECS=86400
# Every scenario is one tenant at thousands of requests a second: the per-tenant limit stays on
# (its cost is part of what is measured) but far above what the load tool sends.
export GUILD_TENANT_REQUESTS_PER_MIN=1000000000
unset REDIS_URL

seed_seconds=""
if [[ "$(sql postgres "SELECT count(*) FROM pg_database WHERE datname = '$template'")" != 1 ]]; then
  log "Loading the data set into $template (seed $seed, scale $scale)"
  for old in $(sql postgres "SELECT datname FROM pg_database WHERE datname LIKE 'guild_bench_t_%'"); do
    sql postgres "DROP DATABASE \"$old\"" >/dev/null
  done
  sql postgres "CREATE DATABASE \"$template\"" >/dev/null
  t0=$(date +%s.%N)
  DATABASE_URL="$LOCAL_PG_URL/$template" GUILD_LOG=warn "$bin" seed-bench --seed "$seed" --scale "$scale" |
    tee "$out/seed.txt" >&2
  seed_seconds="$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")"
  info "loaded in ${seed_seconds} s (migrations included)"
else
  info "reusing the data set in $template"
fi
log "Copying $template to guild_bench"
sql postgres "DROP DATABASE IF EXISTS guild_bench WITH (FORCE)" >/dev/null
sql postgres "CREATE DATABASE guild_bench TEMPLATE \"$template\"" >/dev/null
# Commits wait for the WAL flush, as in production (the development cluster turns this off).
sql postgres "ALTER DATABASE guild_bench SET synchronous_commit = on" >/dev/null
db_url="$LOCAL_PG_URL/guild_bench"
export DATABASE_URL="$db_url" GUILD_DB_POOL_SIZE="$pool"

# --- request lists -----------------------------------------------------------------------
members="$(sql guild_bench "SELECT count(*) FROM memberships m JOIN tenants t ON t.id = m.tenant_id WHERE t.slug = 'bench'")"
# Employees only (user6 onwards); line n of tokens.tsv is user(n + 5).
"$bin" bench-tokens 6 $((members - 5)) >"$out/data/tokens.tsv"
tokens="$(wc -l <"$out/data/tokens.tsv")"
info "$tokens member tokens"
# user index -> token line: i - 5
q_user="(substring(u.email from '^user([0-9]+)@')::int - 5)"
from_members="FROM memberships m JOIN tenants t ON t.id = m.tenant_id AND t.slug = 'bench'
              JOIN users u ON u.id = m.user_id WHERE m.role = 'EMPLOYEE'"
dump() { "$psql_bin" "${pg[@]}" -d guild_bench -tA -F $'\t' -c "$2" >"$out/data/$1"; }
dump bare.tsv "SELECT 'GET', '/', $q_user, '-', 0 $from_members ORDER BY 3"
dump livez.tsv "SELECT 'GET', '/livez', $q_user, '-', 0 $from_members ORDER BY 3"
dump dashboard.tsv "SELECT 'GET', '/v1/me/dashboard', $q_user, '-', 0 $from_members ORDER BY 3"
dump leaderboard.tsv "SELECT 'GET', '/v1/leaderboard?period=all', $q_user, '-', 0 $from_members ORDER BY 3"
dump catalog.tsv "SELECT 'GET', '/v1/modules?limit=20', $q_user, '-', 0 $from_members ORDER BY 3"
# One manager (user6, VIEW_MANAGER_DASHBOARD over their subtree), over and over.
dump manager_dashboard.tsv "SELECT 'GET', '/v1/manager-dashboard', $q_user, '-', 0
    FROM users u, generate_series(1, 1000) WHERE u.email = 'user6@bench.example.com'"
# Two assigned modules per member: their progress, and the module itself.
assigned_modules() { # assigned_modules PATH_SUFFIX
  echo "SELECT 'GET', '/v1/modules/' || module_id || '$1', tok, '-', 0 FROM (
    SELECT $q_user AS tok, mg.module_id,
           row_number() OVER (PARTITION BY u.id ORDER BY md5(mg.module_id::text || u.id::text)) AS r
    FROM memberships m JOIN tenants t ON t.id = m.tenant_id AND t.slug = 'bench'
    JOIN users u ON u.id = m.user_id
    JOIN user_groups ug ON ug.tenant_id = m.tenant_id AND ug.user_id = m.user_id
    JOIN module_groups mg ON mg.tenant_id = ug.tenant_id AND mg.group_id = ug.group_id
    WHERE m.role = 'EMPLOYEE') x WHERE r <= 2 ORDER BY r, tok"
}
dump module.tsv "$(assigned_modules /progress)"
dump module_page.tsv "$(assigned_modules '')"
# Sections not done yet, each member's in module and section order, members interleaved.
dump section_complete.tsv "SELECT 'POST', '/v1/modules/' || module_id || '/sections/' || section_id || '/complete', tok, '-', 0 FROM (
    SELECT $q_user AS tok, s.module_id, s.id AS section_id,
           row_number() OVER (PARTITION BY u.id ORDER BY mg.module_id, s.sort_order) AS r
    FROM memberships m JOIN tenants t ON t.id = m.tenant_id AND t.slug = 'bench'
    JOIN users u ON u.id = m.user_id
    JOIN user_groups ug ON ug.tenant_id = m.tenant_id AND ug.user_id = m.user_id
    JOIN module_groups mg ON mg.tenant_id = ug.tenant_id AND mg.group_id = ug.group_id
    JOIN sections s ON s.tenant_id = mg.tenant_id AND s.module_id = mg.module_id
    WHERE m.role = 'EMPLOYEE' AND NOT EXISTS (
      SELECT 1 FROM section_completions sc WHERE sc.tenant_id = s.tenant_id AND sc.user_id = u.id
        AND sc.section_id = s.id AND sc.archived_at IS NULL)) x
    WHERE r <= 40 ORDER BY r, tok"
# Every open attempt, with answers (the first option of each question) per quiz.
dump quiz_bodies.tsv "SELECT json_build_object('answers', json_agg(json_build_object(
      'question_id', e ->> 'question_id', 'option_ids', json_build_array(e -> 'option_ids' ->> 0))
      ORDER BY o))::text
    FROM (SELECT DISTINCT ON (a.quiz_id) a.quiz_id, a.question_order FROM quiz_attempts a
          JOIN tenants t ON t.id = a.tenant_id AND t.slug = 'bench' ORDER BY a.quiz_id) q,
         jsonb_array_elements(q.question_order) WITH ORDINALITY AS x(e, o)
    GROUP BY q.quiz_id ORDER BY q.quiz_id"
dump quiz_submit.tsv "SELECT 'POST', '/v1/attempts/' || a.id || '/submit', $q_user, a.id, b.n
    FROM quiz_attempts a JOIN tenants t ON t.id = a.tenant_id AND t.slug = 'bench'
    JOIN users u ON u.id = a.user_id
    JOIN memberships m ON m.tenant_id = a.tenant_id AND m.user_id = a.user_id AND m.role = 'EMPLOYEE'
    JOIN (SELECT quiz_id, row_number() OVER (ORDER BY quiz_id) AS n
          FROM (SELECT DISTINCT a2.quiz_id FROM quiz_attempts a2
                JOIN tenants t2 ON t2.id = a2.tenant_id AND t2.slug = 'bench') d) b ON b.quiz_id = a.quiz_id
    WHERE a.status = 'IN_PROGRESS' ORDER BY md5(a.id::text)"
reward="$(sql guild_bench "SELECT r.id FROM rewards r JOIN tenants t ON t.id = r.tenant_id AND t.slug = 'bench' WHERE r.title = 'Coffee with the team'")"
dump redeem.tsv "SELECT 'POST', '/v1/rewards/$reward/redemptions', $q_user, '*', 0 $from_members ORDER BY 3"
# Questions members ask (POST /v1/questions: the daily limit, retrieval over the modules the
# member may see, the question stored), in words the data set's sections share, so that ranking
# has the most passages to order: five per member (the daily limit is 20), members interleaved.
printf '%s\n' \
  '{"body": "Which checklist should I follow for this procedure at work?"}' \
  '{"body": "Is there an example of the first step of the procedure?"}' \
  '{"body": "What does part 3 explain, and is there a short checklist?"}' \
  '{"body": "How do I follow the procedure step by step at work?"}' \
  '{"body": "Where is the example with the checklist for this step?"}' >"$out/data/question_bodies.tsv"
dump question.tsv "SELECT 'POST', '/v1/questions', tok, '-', n
    FROM (SELECT $q_user AS tok $from_members) x CROSS JOIN generate_series(1, 5) AS n
    ORDER BY n, tok"
for f in "$out"/data/*.tsv; do info "$(basename "$f"): $(wc -l <"$f") lines"; done

# --- server ------------------------------------------------------------------------------
server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap 'stop_server' EXIT
start_server() { # start_server LOGFILE [ENV=VALUE...]
  local logfile="$1"
  shift
  env GUILD_HTTP_ADDR="127.0.0.1:$api_port" GUILD_BENCH_BARE_ADDR="127.0.0.1:$bare_port" \
    GUILD_LOG="${GUILD_LOG:-info}" "$@" "$bin" serve >>"$logfile" 2>&1 &
  server_pid=$!
  _wait_for 30 tcp_answers 127.0.0.1 "$api_port" || die "the server did not start (see $logfile)"
}
curl_as() { # curl_as TOKEN_LINE METHOD PATH
  local token
  token="$(sed -n "${1}p" "$out/data/tokens.tsv" | cut -f2)"
  curl -fsS -o /dev/null -X "$2" -H "Authorization: Bearer $token" "http://127.0.0.1:$api_port$3"
}

# --- the SQL of each read endpoint, for pgbench (D) --------------------------------------
log "Capturing the SQL of the read endpoints"
sql guild_bench "ALTER DATABASE guild_bench SET log_statement = 'all'" >/dev/null
# Kept views off: each captured request runs the statements a computation runs (the manager
# dashboard is otherwise answered from the view its first request computed).
start_server "$out/server-capture.log" GUILD_RUN_WORKER=false GUILD_DASHBOARD_FRESH_SECS=0
for scenario in $reads; do
  [[ " $scenarios " == *" $scenario "* ]] || continue
  offset="$(stat -c %s "$LOCAL_PG_LOG")"
  # The manager dashboard's requests are all the same one (user6's); its statements bind the
  # ~1,000 members' ids, and pgbench takes bound values as arguments, whose total size the
  # system limits: one capture.
  n="$captures"
  [[ "$scenario" == manager_dashboard ]] && n=1
  for k in $(seq 1 "$n"); do
    line="$(sed -n "$((k * 37))p" "$out/data/$scenario.tsv")"
    IFS=$'\t' read -r method path tok _ _ <<<"$line"
    # First requests open connections and cache the member: the capture is steady state. One
    # per HTTP worker at least, since each worker thread has its own pool (connections accept
    # in turn across workers).
    for _ in 1 2 3 4; do curl_as "$tok" "$method" "$path"; done
    sql guild_bench "SELECT 'bench-capture-$scenario-$k-begin'" >/dev/null
    curl_as "$tok" "$method" "$path"
    sql guild_bench "SELECT 'bench-capture-$scenario-$k-end'" >/dev/null
  done
  sleep 0.5
  python3 "$bench_dir/capture.py" --log "$LOCAL_PG_LOG" --from-offset "$offset" \
    --marker-prefix bench-capture- --out-dir "$out/sql" --name "$scenario" --db guild_bench \
    --prepared >"$out/sql/$scenario.txt"
done
stop_server
sql guild_bench "ALTER DATABASE guild_bench RESET log_statement" >/dev/null
# D is measured just before the endpoint's HTTP runs (the server idle meanwhile): this machine's
# speed drifts over minutes, and the ratio compares the two.
run_pgbench() { # run_pgbench SCENARIO
  local scenario="$1" vars=()
  log "pgbench: $scenario SQL, $pool clients, ${duration} s"
  # Prepared statements with the captured values bound as parameters, as the server runs them.
  while IFS= read -r assignment; do vars+=(-D "$assignment"); done <"$out/sql/$scenario.vars"
  # shellcheck disable=SC2046 # the .args file holds -f arguments
  "$pgbench_bin" -h 127.0.0.1 -p "$GUILD_LOCAL_PG_PORT" -U postgres -n -M prepared \
    -c "$pool" -j "$threads" -T "$duration" "${vars[@]}" $(cat "$out/sql/$scenario.args") guild_bench \
    >"$out/sql/pgbench-$scenario.txt" 2>&1 || { tail -n 20 "$out/sql/pgbench-$scenario.txt" >&2; die "pgbench failed"; }
  python3 "$bench_dir/pgbench_json.py" --clients "$pool" --out "$out/pgbench-$scenario.json" \
    "$out/sql/pgbench-$scenario.txt"
}

# --- E: the scenarios over HTTP ----------------------------------------------------------
log "Starting the server"
start_server "$out/server.log"
run_wrk() { # run_wrk SCENARIO CONNECTIONS SECONDS OUTFILE [THINK_MS]
  local scenario="$1" conns="$2" seconds="$3" outfile="$4" think="${5:-}" port="$api_port" once=0 bodies=""
  [[ "$scenario" == bare ]] && port="$bare_port"
  [[ "$scenario" == quiz_submit ]] && bodies="$out/data/quiz_bodies.tsv"
  [[ "$scenario" == question ]] && bodies="$out/data/question_bodies.tsv"
  [[ " section_complete quiz_submit question " == *" $scenario "* ]] && once=1
  BENCH_DIR="$bench_dir" BENCH_TOKENS="$out/data/tokens.tsv" BENCH_REQUESTS="$out/data/$scenario.tsv" \
    BENCH_BODIES="$bodies" BENCH_THREADS="$threads" BENCH_RUN="$scenario-c$conns-$RANDOM" BENCH_ONCE="$once" BENCH_CONNECTIONS="$conns" \
    BENCH_WRK_OUT="$out/wrk-raw.json" BENCH_THINK_MS="$think" \
    python3 "$bench_dir/measure.py" --pid "$server_pid" --out "$outfile" -- \
    wrk -t "$threads" -c "$conns" -d "${seconds}s" --timeout 10s -s "$bench_dir/requests.lua" \
    "http://127.0.0.1:$port" >>"$out/wrk.log" 2>&1
}
for scenario in $scenarios; do
  # push and chat run after these, each on a freshly started server of its own.
  [[ " push chat " == *" $scenario "* ]] && continue
  [[ " $reads " == *" $scenario "* ]] && run_pgbench "$scenario"
  log "$scenario: warm-up, then ${duration} s at each of: $connections connections"
  run_wrk "$scenario" 16 2 "$out/warmup-$scenario.json"
  for c in $connections; do
    run_wrk "$scenario" "$c" "$duration" "$out/wrk-$scenario-c$c.json"
    python3 -c "
import json,sys; r=json.load(open(sys.argv[1])); l=r.get('latency_ms',{}); e=r.get('errors',{})
print(f\"    c={sys.argv[2]:>5}  {r.get('rps',0):>9.0f} req/s  p50 {l.get('p50',0):7.2f}  p99 {l.get('p99',0):7.2f}  p99.9 {l.get('p999',0):7.2f} ms  errors {e.get('total',0)}\")
" "$out/wrk-$scenario-c$c.json" "$c" >&2
  done
  # Latency at 1000 connections, each with a think time, offered a fixed share of capacity:
  # reads 55 % of the ceiling 1/(1/H + 1/D), the others half their best closed-loop throughput.
  [[ "$scenario" == bare || "$quick" == true ]] && continue
  plan="$(python3 - "$out" "$scenario" "$reads" "$users" <<'PY'
import glob, json, os, re, sys
out, scenario, reads, users = sys.argv[1], sys.argv[2], sys.argv[3].split(), int(sys.argv[4])
def runs(name):
    found = {}
    for path in glob.glob(os.path.join(out, f"wrk-{name}-c*.json")):
        conns = int(re.search(r"-c(\d+)\.json$", path)[1])
        found[conns] = json.load(open(path)).get("rps") or 0
    return found
bare = runs("bare")
if scenario in reads and bare:  # without the bare runs (a subset of scenarios): saturation
    h = bare[max(bare)]
    d = json.load(open(os.path.join(out, f"pgbench-{scenario}.json")))["tps"]
    basis, basis_rps, share = "ceiling", 1 / (1 / h + 1 / d), 0.55
else:
    basis, basis_rps, share = "saturation", max(runs(scenario).values()), 0.5
offered = share * basis_rps
think_ms = users / offered * 1000
seconds = max(10, round(5 * think_ms / 1000))
print(basis, round(basis_rps, 1), round(offered, 1), round(think_ms, 1), seconds)
PY
)"
  read -r basis basis_rps offered think_ms seconds <<<"$plan"
  # Let the closed loop's last requests drain first: they are not this run's load.
  sleep 2
  run_wrk "$scenario" "$users" "$seconds" "$out/users-$scenario.json" "$think_ms"
  python3 - "$out/users-$scenario.json" "$users" "$think_ms" "$offered" "$basis" "$basis_rps" <<'PY'
import json, sys
path, users, think, offered, basis, basis_rps = sys.argv[1:7]
r = json.load(open(path))
r.update(connections=int(users), think_ms=float(think), offered_rps=float(offered),
         basis=basis, basis_rps=float(basis_rps))
json.dump(r, open(path, "w"), indent=2)
l, e = r.get("latency_ms", {}), r.get("errors", {})
print(f"    {users} conns, think {float(think):.0f} ms: offered {float(offered):.0f}, "
      f"achieved {r.get('rps', 0):.0f} req/s ({r.get('rps', 0) / float(basis_rps):.2f} of {basis}), "
      f"p99 {l.get('p99', 0):.2f} ms, errors {e.get('total', 0)}", file=sys.stderr)
PY
done
if [[ "$quick" == false ]]; then
  log "idle: ${BENCH_IDLE_CONNECTIONS:-1000} keep-alive connections left open"
  python3 "$bench_dir/idle.py" --port "$api_port" --pid "$server_pid" \
    --connections "${BENCH_IDLE_CONNECTIONS:-1000}" --out "$out/idle.json" ||
    warn "the idle scenario failed"
fi
# The write runs leave outbox events behind (XP, notifications, their emails, webhook fan-out);
# the worker of this server works them off before it stops, so the push run that follows times
# a write's way to its client, not the queue the earlier scenarios left. How many there were and
# how long they took is reported (worker.json).
backlog="$(sql guild_bench "SELECT count(*) FROM outbox_events WHERE status IN ('PENDING', 'RUNNING')")"
drain_started=$(date +%s.%N)
drained=false
for _ in $(seq 1 600); do
  if [[ "$(sql guild_bench "SELECT count(*) FROM outbox_events WHERE status IN ('PENDING', 'RUNNING')")" == 0 ]]; then
    drained=true
    break
  fi
  sleep 1
done
drain_seconds="$(python3 -c "print(round($(date +%s.%N) - $drain_started, 1))")"
printf '{"backlog": %s, "drain_seconds": %s, "drained": %s}\n' "$backlog" "$drain_seconds" "$drained" >"$out/worker.json"
info "outbox after the write runs: $backlog events waiting, worked off in ${drain_seconds} s (drained: $drained)"
stop_server

# --- push: event streams, on a freshly started server --------------------------------------
if [[ " $scenarios " == *" push "* ]]; then
  log "push: ${BENCH_PUSH_STREAMS:-1000} streams and push latency, ${BENCH_IDLE_STREAMS:-10000} idle streams, fan-out"
  # Every member of the tenant (line n is user n): user1 is the owner, user2 an admin.
  "$bin" bench-tokens 1 "$members" >"$out/data/push_tokens.tsv"
  # One assigned module each member has not completed, in member order.
  dump push_targets.tsv "SELECT x.user_id, x.module_id FROM (
      SELECT u.id AS user_id, mg.module_id, substring(u.email from '^user([0-9]+)@')::int AS n,
             row_number() OVER (PARTITION BY u.id ORDER BY mg.module_id) AS r
      FROM memberships m JOIN tenants t ON t.id = m.tenant_id AND t.slug = 'bench'
      JOIN users u ON u.id = m.user_id
      JOIN user_groups ug ON ug.tenant_id = m.tenant_id AND ug.user_id = m.user_id
      JOIN module_groups mg ON mg.tenant_id = ug.tenant_id AND mg.group_id = ug.group_id
      WHERE m.role = 'EMPLOYEE' AND NOT EXISTS (
        SELECT 1 FROM module_completions c WHERE c.tenant_id = m.tenant_id AND c.user_id = u.id
          AND c.module_id = mg.module_id AND c.archived_at IS NULL)) x
    WHERE x.r = 1 ORDER BY x.n"
  start_server "$out/server-push.log"
  sleep 2
  python3 "$bench_dir/push.py" --port "$api_port" --pid "$server_pid" \
    --tokens "$out/data/push_tokens.tsv" --targets "$out/data/push_targets.tsv" \
    --owner-token "$(sed -n 1p "$out/data/push_tokens.tsv" | cut -f2)" \
    --admin-token "$(sed -n 2p "$out/data/push_tokens.tsv" | cut -f2)" \
    --latency-streams "${BENCH_PUSH_STREAMS:-1000}" --idle-streams "${BENCH_IDLE_STREAMS:-10000}" \
    --samples "${BENCH_PUSH_SAMPLES:-500}" --rate "${BENCH_PUSH_RATE:-20}" \
    --out "$out/push.json" || warn "the push scenario failed (see $out/server-push.log)"
  stop_server
  grep -v '"message":"request finished"' "$out/server-push.log" >"$out/server-push.log.kept" || true
  mv "$out/server-push.log.kept" "$out/server-push.log"
fi
# --- chat: one room, its subscribers' streams, its history -------------------------------
if [[ " $scenarios " == *" chat "* ]]; then
  log "chat: ${BENCH_CHAT_SUBSCRIBERS:-500} subscribers of one room, delivery, throughput, history of ${BENCH_CHAT_HISTORY:-100000}"
  [[ -f "$out/data/push_tokens.tsv" ]] || "$bin" bench-tokens 1 "$members" >"$out/data/push_tokens.tsv"
  start_server "$out/server-chat.log" GUILD_CHAT_MESSAGES_PER_10S=1000000
  sleep 2
  (cd "$bench_dir" && python3 chat.py --port "$api_port" --tokens "$out/data/push_tokens.tsv" \
    --psql "$psql_bin ${pg[*]} -d guild_bench" \
    --subscribers "${BENCH_CHAT_SUBSCRIBERS:-500}" --history "${BENCH_CHAT_HISTORY:-100000}" \
    --out "$out/chat.json") || warn "the chat scenario failed (see $out/server-chat.log)"
  stop_server
  grep -v '"message":"request finished"' "$out/server-chat.log" >"$out/server-chat.log.kept" || true
  mv "$out/server-chat.log.kept" "$out/server-chat.log"
fi
trap - EXIT
# The access log runs to gigabytes (one line per request, as in production): keep every other
# line (start-up, warnings, errors, shutdown) and the number of access lines.
access="$(grep -c '"message":"request finished"' "$out/server.log" || true)"
grep -v '"message":"request finished"' "$out/server.log" >"$out/server.log.kept" || true
mv "$out/server.log.kept" "$out/server.log"
info "server log: $access access lines dropped, $(wc -l <"$out/server.log") other lines kept in $out/server.log"

# --- report ------------------------------------------------------------------------------
python3 - "$out" <<PY
import json, os, subprocess, sys
out = sys.argv[1]
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return ""
rows = {}
for line in open(os.path.join(out, "seed.txt")) if os.path.exists(os.path.join(out, "seed.txt")) else []:
    parts = line.split()
    if len(parts) == 2 and parts[1].isdigit():
        rows[parts[0]] = int(parts[1])
meta = {
    "started": "$started_at",
    "quick": $([[ "$quick" == true ]] && echo True || echo False),
    "commit": sh("git rev-parse --short HEAD"),
    "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
    "cpus": os.cpu_count(),
    "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    "postgres": sh("$psql_bin ${pg[*]} -d guild_bench -tAc 'SHOW server_version'"),
    "shared_buffers": sh("$psql_bin ${pg[*]} -d guild_bench -tAc 'SHOW shared_buffers'"),
    "synchronous_commit": sh("$psql_bin ${pg[*]} -d guild_bench -tAc 'SHOW synchronous_commit'"),
    "db_pool_size": $pool,
    "http_workers": os.environ.get("GUILD_HTTP_WORKERS", str(os.cpu_count())),
    "load_tool": sh("wrk -v 2>&1 | head -n1"),
    "wrk_threads": $threads,
    "seconds_per_run": $duration,
    "seed": $seed, "scale": "$scale",
    "seed_seconds": "${seed_seconds:-reused}",
    "pgbench_scripts_per_read": $captures,
    "dataset_large_tenant": rows,
}
json.dump(meta, open(os.path.join(out, "meta.json"), "w"), indent=2)
PY
python3 "$bench_dir/report.py" "$out"
log "Report: $out/report.md"
