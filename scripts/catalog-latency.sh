#!/usr/bin/env bash
# Measures the member catalog (GET /v1/modules) with 200 published modules of 20 sections each,
# all assigned to a group of the demo employee. Run against a database where `make run` created
# the demo tenant; it adds the modules once (idempotent by title).
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:55432/guild scripts/catalog-latency.sh [BASE_URL] [N]
set -euo pipefail
base="${1:-http://localhost:8080}"
n="${2:-300}"
: "${DATABASE_URL:?set DATABASE_URL to the demo database}"

psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q <<'SQL'
DO $$
DECLARE t uuid; owner uuid; g uuid; m uuid;
BEGIN
  SELECT id INTO t FROM tenants WHERE slug = 'demo';
  SELECT id INTO owner FROM users WHERE email = 'owner@demo.guild.local';
  SELECT id INTO g FROM groups WHERE tenant_id = t AND name = 'Engineering';
  IF EXISTS (SELECT 1 FROM modules WHERE tenant_id = t AND title LIKE 'Catalog bench %') THEN
    RETURN;
  END IF;
  INSERT INTO tags (tenant_id, id, name) VALUES (t, gen_random_uuid(), 'bench-a'), (t, gen_random_uuid(), 'bench-b')
    ON CONFLICT DO NOTHING;
  FOR i IN 1..200 LOOP
    m := gen_random_uuid();
    INSERT INTO modules (tenant_id, id, title, status, created_by, published_at)
      VALUES (t, m, 'Catalog bench ' || i, 'PUBLISHED', owner, now());
    INSERT INTO sections (tenant_id, id, module_id, title, content_html, sort_order)
      SELECT t, gen_random_uuid(), m, 'Section ' || s, '<p>Lorem ipsum</p>', s - 1 FROM generate_series(1, 20) s;
    INSERT INTO module_tags (tenant_id, module_id, tag_id) SELECT t, m, id FROM tags WHERE tenant_id = t AND name LIKE 'bench-%';
    INSERT INTO module_groups (tenant_id, module_id, group_id, deadline_days, is_mandatory) VALUES (t, m, g, 30, i % 2 = 0);
  END LOOP;
END
$$;
SQL

python3 - "$base" "$n" <<'PY'
import http.client, json, sys, time, urllib.parse
base, n = sys.argv[1], int(sys.argv[2])
u = urllib.parse.urlparse(base)
c = http.client.HTTPConnection(u.hostname, u.port or 80)
def call(method, path, body=None, token=None):
    h = {"content-type": "application/json"}
    if token: h["authorization"] = f"Bearer {token}"
    t0 = time.perf_counter()
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse(); data = r.read()
    return r.status, data, (time.perf_counter() - t0) * 1000
s, d, _ = call("POST", "/v1/auth/login", {"email": "employee@demo.guild.local", "password": "guild-demo-password"})
assert s == 200, d
token = json.loads(d)["access_token"]
for limit in (50, 200):
    path = f"/v1/modules?limit={limit}"
    s, d, _ = call("GET", path, token=token)
    assert s == 200, d
    items = len(json.loads(d)["data"])
    xs = []
    for _ in range(n):
        s, d, ms = call("GET", path, token=token)
        assert s == 200
        xs.append(ms)
    xs.sort()
    p = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    print(f"GET {path}: {items} modules per page, n={n} p50={p(0.5):.2f} ms p99={p(0.99):.2f} ms")
PY
