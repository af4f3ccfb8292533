#!/usr/bin/env python3
"""Measures sign-in latency and the latency of an authenticated GET against a running Guild.

Usage: scripts/auth-latency.py [BASE_URL] [N]   (default http://localhost:8080, 200)
Needs the demo tenant (`make run` on an empty database creates it). Requests are sequential on
one keep-alive connection, so the figures are per-request latency, not throughput.
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse

base = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8080"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
url = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(url.hostname, url.port or 80)


def call(method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    start = time.perf_counter()
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    res = conn.getresponse()
    data = res.read()
    return res.status, data, (time.perf_counter() - start) * 1000


def summary(name, samples):
    samples.sort()
    p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    print(f"{name}: n={len(samples)} p50={p(0.5):.2f} ms p90={p(0.9):.2f} ms p99={p(0.99):.2f} ms "
          f"mean={statistics.mean(samples):.2f} ms")


# Sign-in is rate limited (10 per account per 15 min, 30 per address per minute): rotate over
# the demo accounts and stay under both.
accounts = ["owner", "admin", "hr", "employee", "viewer"]
logins, token = [], None
for i in range(min(n, 25)):
    who = accounts[i % len(accounts)]
    status, data, ms = call("POST", "/v1/auth/login",
                            {"email": f"{who}@demo.guild.local", "password": "guild-demo-password"})
    if status != 200:
        sys.exit(f"login failed: {status} {data[:200]!r}")
    logins.append(ms)
    if who == "admin":
        token = json.loads(data)["access_token"]
summary("POST /v1/auth/login", logins)

for path in ["/v1/groups", "/v1/me"]:
    call("GET", path, token=token)  # warm the membership cache and the connection
    gets = []
    for _ in range(n):
        status, data, ms = call("GET", path, token=token)
        if status != 200:
            sys.exit(f"GET {path} failed: {status} {data[:200]!r}")
        gets.append(ms)
    summary(f"GET {path} (authenticated)", gets)
