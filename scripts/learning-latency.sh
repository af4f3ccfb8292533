#!/usr/bin/env bash
# Measures what a member does most, with 200 published modules of 20 sections each, all assigned
# to a group of the demo employee (100 of them half done): the catalog (GET /v1/modules), the
# dashboard (GET /v1/me/dashboard) and a quiz submit (POST /v1/attempts/{id}/submit, 10
# questions). Run against a database where `make run` created the demo tenant; it adds the data
# once (idempotent by title).
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:55432/guild scripts/learning-latency.sh [BASE_URL] [N]
set -euo pipefail
base="${1:-http://localhost:8080}"
n="${2:-300}"
: "${DATABASE_URL:?set DATABASE_URL to the demo database}"

psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q <<'SQL'
DO $$
DECLARE t uuid; owner uuid; g uuid; m uuid; emp uuid; q uuid;
BEGIN
  SELECT id INTO t FROM tenants WHERE slug = 'demo';
  SELECT id INTO owner FROM users WHERE email = 'owner@demo.guild.local';
  SELECT id INTO g FROM groups WHERE tenant_id = t AND name = 'Engineering';
  SELECT user_id INTO emp FROM memberships m JOIN users u ON u.id = m.user_id
    WHERE m.tenant_id = t AND u.email = 'employee@demo.guild.local';
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
    IF i % 2 = 0 THEN
      INSERT INTO section_completions (tenant_id, id, user_id, module_id, section_id)
        SELECT t, gen_random_uuid(), emp, m, s.id FROM sections s
        WHERE s.tenant_id = t AND s.module_id = m AND s.sort_order < 10;
    END IF;
    IF i = 1 THEN
      q := gen_random_uuid();
      INSERT INTO quizzes (tenant_id, id, module_id, title, passing_score_percent, created_by, show_answers)
        VALUES (t, q, m, 'Bench quiz', 70, owner, 'ALWAYS');
      INSERT INTO quiz_questions (tenant_id, id, quiz_id, kind, prompt, options, points, sort_order)
        SELECT t, gen_random_uuid(), q, 'SINGLE_CHOICE', 'Question ' || k,
               '[{"id":"a","text":"A","correct":true},{"id":"b","text":"B","correct":false}]'::jsonb, 1, k - 1
        FROM generate_series(1, 10) k;
    END IF;
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
def measure(label, fn):
    xs = []
    for _ in range(n):
        xs.append(fn())
    xs.sort()
    p = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    print(f"{label}: n={n} p50={p(0.5):.2f} ms p99={p(0.99):.2f} ms")

for limit in (50, 200):
    path = f"/v1/modules?limit={limit}"
    s, d, _ = call("GET", path, token=token)
    assert s == 200, d
    items = len(json.loads(d)["data"])
    def catalog():
        s, d, ms = call("GET", path, token=token)
        assert s == 200
        return ms
    measure(f"GET {path} ({items} modules per page)", catalog)

s, d, _ = call("GET", "/v1/me/dashboard", token=token)
assert s == 200, d
assigned = len(json.loads(d)["assigned"])
def dashboard():
    s, d, ms = call("GET", "/v1/me/dashboard", token=token)
    assert s == 200
    return ms
measure(f"GET /v1/me/dashboard ({assigned} assigned modules)", dashboard)

s, d, _ = call("GET", "/v1/modules?q=Catalog%20bench%201&limit=200", token=token)
module = next(m["id"] for m in json.loads(d)["data"] if m["title"] == "Catalog bench 1")
s, d, _ = call("GET", f"/v1/modules/{module}/quizzes", token=token)
quiz = json.loads(d)[0]["id"] if isinstance(json.loads(d), list) else json.loads(d)["data"][0]["id"]
counter = [0]
def submit():
    s, d, _ = call("POST", f"/v1/quizzes/{quiz}/attempts", {}, token=token)
    assert s in (200, 201), d
    attempt = json.loads(d)
    answers = [{"question_id": q["question_id"] if "question_id" in q else q["id"], "option_ids": ["a"]}
               for q in attempt["questions"]]
    counter[0] += 1
    key = f"bench-{time.time_ns()}-{counter[0]}"
    h = {"content-type": "application/json", "authorization": f"Bearer {token}", "idempotency-key": key}
    t0 = time.perf_counter()
    c.request("POST", f"/v1/attempts/{attempt['id']}/submit", json.dumps({"answers": answers}), h)
    r = c.getresponse(); body = r.read()
    ms = (time.perf_counter() - t0) * 1000
    assert r.status == 200, body
    return ms
measure("POST /v1/attempts/{id}/submit (10 questions)", submit)
PY
