#!/usr/bin/env bash
# Measures the leaderboards (GET /v1/leaderboard, 50 per page) for a tenant of 10,000 members
# with 1,000,000 XP ledger rows spread over the last 120 days. Reuses the `compliance-bench`
# tenant of scripts/compliance-latency.sh (run that first: it creates the members and groups)
# and adds the ledger once.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:55432/guild scripts/leaderboard-latency.sh [BASE_URL] [N]
set -euo pipefail
base="${1:-http://localhost:8080}"
n="${2:-200}"
: "${DATABASE_URL:?set DATABASE_URL to the database the server uses}"

psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q <<'SQL'
DO $$
DECLARE t uuid;
BEGIN
  SELECT id INTO t FROM tenants WHERE slug = 'compliance-bench';
  IF t IS NULL THEN
    RAISE EXCEPTION 'run scripts/compliance-latency.sh first';
  END IF;
  IF (SELECT count(*) FROM xp_transactions WHERE tenant_id = t) >= 1000000 THEN
    RETURN;
  END IF;
  INSERT INTO xp_transactions (tenant_id, id, user_id, kind, amount, source, source_entity_id, created_at)
    SELECT t, gen_random_uuid(), m.user_id, 'AWARD', 10 + abs((k * 37 + hashtext(m.user_id::text)::bigint) % 91)::int,
           'MODULE_COMPLETED', gen_random_uuid(),
           now() - make_interval(secs => ((k::bigint * 7919 + abs(hashtext(m.user_id::text)::bigint)) % (120 * 86400))::double precision)
    FROM memberships m, generate_series(1, 100) k
    WHERE m.tenant_id = t AND m.role = 'EMPLOYEE';
  -- The month and week totals the API keeps in step with the ledger.
  INSERT INTO xp_period_totals (tenant_id, user_id, period, period_start, xp)
    SELECT t, user_id, p.period, date_trunc(lower(p.period), created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(amount)
    FROM xp_transactions, (VALUES ('MONTH'), ('WEEK')) p(period)
    WHERE tenant_id = t GROUP BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, period, period_start, user_id) DO UPDATE SET xp = EXCLUDED.xp;
  INSERT INTO user_xp_balances (tenant_id, user_id, lifetime_xp, total_xp, rank)
    SELECT t, user_id, sum(amount), sum(amount),
           CASE WHEN sum(amount) >= 6000 THEN 'MENTOR' WHEN sum(amount) >= 3500 THEN 'MOJSTER'
                WHEN sum(amount) >= 1500 THEN 'POMOCNIK' ELSE 'VAJENEC' END
    FROM xp_transactions WHERE tenant_id = t GROUP BY user_id
    ON CONFLICT (tenant_id, user_id) DO UPDATE
      SET lifetime_xp = EXCLUDED.lifetime_xp, total_xp = EXCLUDED.total_xp, rank = EXCLUDED.rank;
END
$$;
ANALYZE xp_transactions;
ANALYZE user_xp_balances;
ANALYZE xp_period_totals;
SQL

python3 - "$base" "$n" <<'PY'
import http.client, json, sys, time, urllib.parse
base, n = sys.argv[1], int(sys.argv[2])
u = urllib.parse.urlparse(base)
c = http.client.HTTPConnection(u.hostname, u.port or 80)
def call(path, token=None, method="GET", body=None):
    h = {"content-type": "application/json"}
    if token: h["authorization"] = f"Bearer {token}"
    t0 = time.perf_counter()
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse(); data = r.read()
    return r.status, data, (time.perf_counter() - t0) * 1000
s, d, _ = call("/v1/auth/login", method="POST",
               body={"email": "owner@compliance-bench.example.com", "password": "compliance-bench-password"})
assert s == 200, d
token = json.loads(d)["access_token"]
s, d, _ = call("/v1/groups?limit=1", token)
groups = json.loads(d)
group = (groups["data"] if isinstance(groups, dict) else groups)[0]["id"]
for label, path in (("all time", "/v1/leaderboard?period=all&limit=50"),
                    ("this month", "/v1/leaderboard?period=month&limit=50"),
                    ("this week", "/v1/leaderboard?period=week&limit=50"),
                    ("all time, one group", f"/v1/leaderboard?period=all&limit=50&group_id={group}")):
    s, d, _ = call(path, token)
    assert s == 200, d
    xs = []
    for _ in range(n):
        s, d, ms = call(path, token)
        assert s == 200
        xs.append(ms)
    xs.sort()
    p = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    print(f"GET leaderboard {label}: n={n} p50={p(0.5):.2f} ms p99={p(0.99):.2f} ms")
PY
