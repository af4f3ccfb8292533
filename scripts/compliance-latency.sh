#!/usr/bin/env bash
# Measures the compliance matrix (GET /v1/compliance/matrix, 50 members per page) and its CSV
# export for a tenant of 10,000 members × 20 mandatory modules (half of the cells completed with a
# certificate, a quarter in progress). Signs up the tenant `compliance-bench` through the API on
# first use and loads the rest with SQL (idempotent: it skips the load when the members exist).
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:55432/guild scripts/compliance-latency.sh [BASE_URL] [N]
set -euo pipefail
base="${1:-http://localhost:8080}"
n="${2:-200}"
: "${DATABASE_URL:?set DATABASE_URL to the database the server uses}"
email="owner@compliance-bench.example.com"
password="compliance-bench-password"

python3 - "$base" "$email" "$password" <<'PY'
import http.client, json, sys, urllib.parse
base, email, password = sys.argv[1:4]
u = urllib.parse.urlparse(base)
c = http.client.HTTPConnection(u.hostname, u.port or 80)
body = {"tenant_name": "Compliance bench", "slug": "compliance-bench", "name": "Bench Owner",
        "email": email, "password": password}
c.request("POST", "/v1/auth/signup", json.dumps(body), {"content-type": "application/json"})
r = c.getresponse(); data = r.read()
assert r.status in (201, 409), (r.status, data)
PY

psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q <<'SQL'
DO $$
DECLARE t uuid; owner uuid;
BEGIN
  SELECT id INTO t FROM tenants WHERE slug = 'compliance-bench';
  SELECT id INTO owner FROM users WHERE email = 'owner@compliance-bench.example.com';
  IF (SELECT count(*) FROM memberships WHERE tenant_id = t) > 10000 THEN
    RETURN;
  END IF;
  CREATE TEMP TABLE bench_users ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, i FROM generate_series(1, 10000) i;
  INSERT INTO users (id, email, name)
    SELECT id, 'member' || i || '@compliance-bench.example.com', 'Member ' || i FROM bench_users;
  INSERT INTO memberships (tenant_id, user_id, role) SELECT t, id, 'EMPLOYEE' FROM bench_users;
  CREATE TEMP TABLE bench_groups ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, g FROM generate_series(0, 49) g;
  INSERT INTO groups (tenant_id, id, name) SELECT t, id, 'Team ' || g FROM bench_groups;
  INSERT INTO user_groups (tenant_id, group_id, user_id)
    SELECT t, g.id, u.id FROM bench_users u JOIN bench_groups g ON g.g = u.i % 50;
  CREATE TEMP TABLE bench_modules ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, m FROM generate_series(1, 20) m;
  INSERT INTO modules (tenant_id, id, title, status, created_by, published_at, validity_months, version)
    SELECT t, id, 'Mandatory ' || m, 'PUBLISHED', owner, now() - interval '400 days', 12, 1 FROM bench_modules;
  INSERT INTO sections (tenant_id, id, module_id, title, sort_order)
    SELECT t, gen_random_uuid(), m.id, 'Part ' || s, s - 1 FROM bench_modules m, generate_series(1, 5) s;
  INSERT INTO module_groups (tenant_id, module_id, group_id, deadline_days, is_mandatory, assigned_at)
    SELECT t, m.id, g.id, 30, true, now() - interval '60 days' FROM bench_modules m, bench_groups g;
  -- Half of the cells completed (issued 1 to 400 days ago, so some expire soon or expired),
  -- a quarter in progress.
  CREATE TEMP TABLE bench_done ON COMMIT DROP AS
    SELECT u.id AS user_id, m.id AS module_id, gen_random_uuid() AS completion_id,
           now() - make_interval(days => 1 + (u.i * 7 + m.m * 13) % 400) AS at
    FROM bench_users u, bench_modules m WHERE (u.i + m.m) % 2 = 0;
  INSERT INTO module_completions (tenant_id, id, user_id, module_id, completed_at, source)
    SELECT t, completion_id, user_id, module_id, at, 'PROGRESS' FROM bench_done;
  INSERT INTO certificates (tenant_id, id, code, user_id, module_id, completion_id, holder_name,
                            module_title, issued_at, expires_at)
    SELECT t, gen_random_uuid(), 'GC-BENCH-' || replace(completion_id::text, '-', ''), user_id,
           module_id, completion_id, 'Member', 'Mandatory', at, at + interval '12 months'
    FROM bench_done;
  INSERT INTO section_completions (tenant_id, id, user_id, module_id, section_id, completed_at)
    SELECT t, gen_random_uuid(), u.id, m.id, s.id, now() - interval '3 days'
    FROM bench_users u, bench_modules m
    JOIN sections s ON s.tenant_id = t AND s.module_id = m.id AND s.sort_order < 2
    WHERE (u.i + m.m) % 4 = 1;
END
$$;
ANALYZE;
SQL

python3 - "$base" "$n" "$email" "$password" <<'PY'
import http.client, json, sys, time, urllib.parse
base, n, email, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
u = urllib.parse.urlparse(base)
c = http.client.HTTPConnection(u.hostname, u.port or 80)
def call(path, token=None, method="GET", body=None):
    h = {"content-type": "application/json"}
    if token: h["authorization"] = f"Bearer {token}"
    t0 = time.perf_counter()
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse(); data = r.read()
    return r.status, data, (time.perf_counter() - t0) * 1000
s, d, _ = call("/v1/auth/login", method="POST", body={"email": email, "password": password})
assert s == 200, d
token = json.loads(d)["access_token"]
# A cursor from the middle of the list.
s, d, _ = call("/v1/compliance/matrix?limit=200", token)
page = json.loads(d)
cursor = None
for _ in range(25):
    cursor = page["next_cursor"]
    s, d, _ = call(f"/v1/compliance/matrix?limit=200&cursor={cursor}", token)
    page = json.loads(d)
cells = sum(len(r["cells"]) for r in page["data"])
statuses = {}
for r in page["data"]:
    for cell in r["cells"]:
        statuses[cell["status"]] = statuses.get(cell["status"], 0) + 1
print(f"page of 200 members has {cells} cells: {statuses}")
for label, path in (("first page", "/v1/compliance/matrix?limit=50"),
                    ("middle page", f"/v1/compliance/matrix?limit=50&cursor={cursor}")):
    xs = []
    for _ in range(n):
        s, d, ms = call(path, token)
        assert s == 200, d
        xs.append(ms)
    xs.sort()
    p = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    print(f"GET matrix {label} (50 members x 20 modules): n={n} p50={p(0.5):.2f} ms p99={p(0.99):.2f} ms")
t0 = time.perf_counter()
s, d, _ = call("/v1/compliance/matrix/export", token)
assert s == 200
print(f"GET /v1/compliance/matrix/export: {len(d.splitlines()) - 1} rows, {len(d) / 1e6:.1f} MB in {(time.perf_counter() - t0):.2f} s")
PY

