#!/usr/bin/env python3
"""Turns pgbench's summary output into JSON.

Usage: pgbench_json.py [--clients N] --out FILE [PGBENCH_OUTPUT]   (stdin when no file)
       pgbench_json.py --self-test

Writes {"tps": float, "clients": N, "latency_ms_avg": float, "transactions": N, "failed": N}.
The figures are the run's totals (the lines before any per-script section of a run with several
-f scripts); tps is the figure without the initial connection time. --clients defaults to
pgbench's "number of clients" line. Exits non-zero when the output has no tps line (pgbench
failed).
"""
import argparse
import json
import re
import sys

# pgbench 14+ prints "tps = X (without initial connection time)"; older versions print the
# figure twice, "including"/"excluding connections establishing": the excluding one wins.
TPS_RE = re.compile(r"^tps = ([0-9.]+) \((without initial connection time|excluding[^)]*)\)")
TPS_ANY_RE = re.compile(r"^tps = ([0-9.]+)")
CLIENTS_RE = re.compile(r"^number of clients: (\d+)")
TRANSACTIONS_RE = re.compile(r"^number of transactions actually processed: (\d+)")
FAILED_RE = re.compile(r"^number of failed transactions: (\d+)")
LATENCY_RE = re.compile(r"^latency average = ([0-9.]+) ms")


def parse(text: str) -> dict:
    """Extracts the summary figures; missing ones are None (failed defaults to 0)."""
    found: dict = {}
    for line in text.splitlines():
        # Per-script sections (" - ...") and per-statement latencies are indented: skip them.
        if line[:1].isspace():
            continue
        for key, pattern in (("clients", CLIENTS_RE), ("transactions", TRANSACTIONS_RE),
                             ("failed", FAILED_RE), ("latency_ms_avg", LATENCY_RE)):
            match = pattern.match(line)
            if match and key not in found:
                found[key] = float(match[1]) if key == "latency_ms_avg" else int(match[1])
        match = TPS_RE.match(line)
        if match:
            found["tps"] = float(match[1])
        elif "tps" not in found and (match := TPS_ANY_RE.match(line)):
            found.setdefault("tps_fallback", float(match[1]))
    tps = found.get("tps", found.get("tps_fallback"))
    return {
        "tps": tps,
        "clients": found.get("clients"),
        "latency_ms_avg": found.get("latency_ms_avg"),
        "transactions": found.get("transactions"),
        "failed": found.get("failed", 0),
    }


SAMPLE = """\
pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: multiple scripts
scaling factor: 1
query mode: simple
number of clients: 2
number of threads: 2
maximum number of tries: 1
duration: 2 s
number of transactions actually processed: 16510
number of failed transactions: 0 (0.000%)
latency average = 0.241 ms
initial connection time = 9.370 ms
tps = 8290.853797 (without initial connection time)
SQL script 1: /tmp/people-1.sql
 - weight: 1 (targets 50.0% of total)
 - 8189 transactions (49.6% of total, tps = 4112.283570)
 - number of failed transactions: 0 (0.000%)
 - latency average = 0.241 ms
"""

OLD_SAMPLE = """\
number of clients: 8
number of transactions actually processed: 800/1000
latency average = 1.500 ms
tps = 5000.5 (including connections establishing)
tps = 5100.25 (excluding connections establishing)
"""


def self_test() -> int:
    assert parse(SAMPLE) == {"tps": 8290.853797, "clients": 2, "latency_ms_avg": 0.241,
                             "transactions": 16510, "failed": 0}, parse(SAMPLE)
    assert parse(OLD_SAMPLE) == {"tps": 5100.25, "clients": 8, "latency_ms_avg": 1.5,
                                 "transactions": 800, "failed": 0}, parse(OLD_SAMPLE)
    assert parse("pgbench: error: connection refused\n")["tps"] is None
    print("pgbench_json.py self-test: ok")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, help="client count (default: from the output)")
    parser.add_argument("--out", help="JSON file to write")
    parser.add_argument("input", nargs="?", help="pgbench output (default: stdin)")
    parser.add_argument("--self-test", action="store_true", help="run the built-in test and exit")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if not args.out:
        parser.error("--out is required")
    if args.input:
        with open(args.input, encoding="utf-8", errors="replace") as f:
            text = f.read()
    else:
        text = sys.stdin.read()
    result = parse(text)
    if args.clients is not None:
        result["clients"] = args.clients
    if result["tps"] is None:
        print("pgbench_json.py: no 'tps = ...' line in the pgbench output", file=sys.stderr)
        return 1
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
