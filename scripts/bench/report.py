#!/usr/bin/env python3
"""Builds the benchmark report from a results directory.

Usage: report.py RESULTS_DIR
       report.py --self-test

RESULTS_DIR holds
  wrk-<scenario>-c<connections>.json   measure.py output for one closed-loop wrk run: every
                                       connection sends its next request as soon as the
                                       previous answer arrives (saturation, i.e. capacity)
  users-<scenario>.json                measure.py output for the think-time run of <scenario>:
                                       1000 connections, each pausing an exponentially
                                       distributed think time before each request, plus
                                       connections, think_ms, offered_rps, basis ("ceiling" or
                                       "saturation") and basis_rps (optional)
  pgbench-<scenario>.json              pgbench_json.py output: the database work of one request
                                       of <scenario>, replayed without HTTP
  meta.json                            free-form description of the run (optional)
and receives report.json and report.md.

For every scenario and connection count the report shows throughput, latency, errors and the
server's CPU and memory. Scenarios with a pgbench result are compared with what the stack could
at best deliver: with H the rps of the bare handler (`bare`) at the same connection count and D
the pgbench tps, a request costing 1/H of HTTP work plus 1/D of database work caps throughput
at ceiling = 1 / (1/H + 1/D); ratio = measured rps / ceiling.

In a closed loop, Little's law makes mean latency = connections / throughput, so latency
targets at 1000 connections cannot be judged on those runs. The think-time run offers a fixed
share of capacity instead: reads 55 % of their ceiling (H at the highest connection count), the
others 50 % of their best closed-loop rps (saturation); achieved / basis is its rps over that
ceiling or saturation figure.

Targets are listed with PASS/FAIL and the reason. Reads need a closed-loop ratio ≥ 0.8 at 64
connections (at the highest count measured when 64 was not), and in their think-time run
achieved / ceiling ≥ 0.5, p99 < 20 ms, p99.9 < 50 ms and no errors; writes p99 < 50 ms and no
errors in theirs; both no errors in any closed-loop run. Without a think-time run, latency is
not judged (a closed loop's latency is connections / throughput) and writes are judged on their
closed-loop p99 at every count instead. Any run whose p99.9 exceeds 5 × its p99 is a stall: it
is flagged in the tables and fails its scenario. Some scenarios have goals of their own: the
leaderboard's closed-loop p99.9 < 50 ms at 16 and 64 connections, the manager dashboard's (one
manager's subtree of about 1,000 members, a heatmap of 100 groups by every module: heavier than
a read, judged on its own goal) closed-loop p99 < 100 ms at 64 connections, the catalog ≥ 2,900 and the
module page ≥ 3,000 req/s at 16. The server's peak RSS over every run must stay < 100 MiB;
idle.json (idle.py) adds its memory per 1,000 idle keep-alive connections. meta.json's
"quick": true marks a quick run (BENCH_QUICK=1: fewer, shorter runs), whose figures are
indicative. The exit status is 0 whatever the targets say: the report is the product.
"""
import json
import math
import os
import re
import sys
import tempfile

BARE = "bare"  # the bare handler: HTTP stack cost only
READS = ("dashboard", "module", "leaderboard", "catalog", "module_page")
# Reads judged on a closed-loop p99 goal of their own instead of the read targets.
HEAVY_READS = ("manager_dashboard",)
WRITES = ("section_complete", "quiz_submit", "redeem", "question")
SCENARIO_ORDER = (BARE, "livez", *READS, *HEAVY_READS, *WRITES)  # others follow, alphabetically

READ_MIN_RATIO = 0.5          # think-time run: achieved / ceiling
READ_MIN_CLOSED_RATIO = 0.8   # closed loop: rps / ceiling at READ_RATIO_CONNECTIONS
READ_RATIO_CONNECTIONS = 64
READ_MAX_P99_MS = 20.0        # think-time run
READ_MAX_P999_MS = 50.0       # think-time run
WRITE_MAX_P99_MS = 50.0
STALL_FACTOR = 5.0            # p99.9 above this many times p99: requests wait behind something
MAX_RSS_MIB = 100.0
# Scenario: (connections, req/s it must reach at that count in the closed loop).
THROUGHPUT_GOALS = {"catalog": (16, 2900.0), "module_page": (16, 3000.0)}
# Scenario: (connection counts, closed-loop p99.9 it must stay under at each).
CLOSED_P999_GOALS = {"leaderboard": ((16, 64), 50.0)}
# Scenario: (connection counts, closed-loop p99 it must stay under at each).
CLOSED_P99_GOALS = {"manager_dashboard": ((64,), 100.0)}

WRK_FILE_RE = re.compile(r"^wrk-(?P<scenario>.+)-c(?P<connections>\d+)\.json$")
PGBENCH_FILE_RE = re.compile(r"^pgbench-(?P<scenario>.+)\.json$")
USERS_FILE_RE = re.compile(r"^users-(?P<scenario>.+)\.json$")


# --- loading ------------------------------------------------------------------------------

def load_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load(results_dir: str) -> tuple[dict, dict, dict, dict]:
    """Returns ({(scenario, connections): wrk run}, {scenario: pgbench run},
    {scenario: think-time run}, meta)."""
    runs, pgbench, users = {}, {}, {}
    for name in sorted(os.listdir(results_dir)):
        path = os.path.join(results_dir, name)
        if match := WRK_FILE_RE.match(name):
            runs[(match["scenario"], int(match["connections"]))] = load_json(path)
        elif match := PGBENCH_FILE_RE.match(name):
            pgbench[match["scenario"]] = load_json(path)
        elif match := USERS_FILE_RE.match(name):
            users[match["scenario"]] = load_json(path)
    meta_path = os.path.join(results_dir, "meta.json")
    meta = load_json(meta_path) if os.path.exists(meta_path) else {}
    return runs, pgbench, users, meta


def scenario_key(scenario: str) -> tuple:
    if scenario in SCENARIO_ORDER:
        return (0, SCENARIO_ORDER.index(scenario), "")
    return (1, 0, scenario)


# --- computing ----------------------------------------------------------------------------

def errors_total(run: dict) -> int | None:
    """Non-2xx/3xx responses plus socket errors; None when wrk reported nothing."""
    errors = run.get("errors")
    if not isinstance(errors, dict):
        return None
    if "total" in errors:
        return int(errors["total"])
    return sum(int(errors.get(k, 0)) for k in ("connect", "read", "write", "status", "timeout"))


def ceiling(bare_rps: float | None, db_tps: float | None) -> float | None:
    """Best throughput when each request costs 1/H of HTTP work and 1/D of database work."""
    if not bare_rps or not db_tps:
        return None
    return 1 / (1 / bare_rps + 1 / db_tps)


def build_rows(runs: dict, pgbench: dict) -> list[dict]:
    rows = []
    for scenario, connections in sorted(runs, key=lambda k: (scenario_key(k[0]), k[1])):
        run = runs[(scenario, connections)]
        latency = run.get("latency_ms") or {}
        server = run.get("server") or {}
        rps = run.get("rps")
        db_tps = (pgbench.get(scenario) or {}).get("tps")
        bare_rps = (runs.get((BARE, connections)) or {}).get("rps") if db_tps else None
        cap = ceiling(bare_rps, db_tps)
        rows.append({
            "scenario": scenario,
            "connections": connections,
            "rps": rps,
            "latency_ms": {k: latency.get(k) for k in ("p50", "p99", "p999")},
            "errors": errors_total(run),
            "cpu_percent": server.get("cpu_percent"),
            "rss_mb_peak": server.get("rss_mb_peak"),
            "pgbench_tps": db_tps,
            "bare_rps": bare_rps,
            "ceiling_rps": cap,
            "ratio": rps / cap if cap and rps is not None else None,
            "stall": stalled(latency),
        })
    return rows


def stalled(latency: dict) -> bool:
    """p99.9 above STALL_FACTOR × p99: a few requests waited behind something."""
    p99, p999 = latency.get("p99"), latency.get("p999")
    return bool(p99 and p999 and p999 > STALL_FACTOR * p99)


def stall_reason(where: str, latency: dict) -> str:
    return (f"stall {where}: p99.9 {latency['p999']:.2f} ms > {STALL_FACTOR:g} × p99 "
            f"{latency['p99']:.2f} ms")


def basis_from_runs(scenario: str, basis: str, runs: dict, pgbench: dict) -> float | None:
    """The basis as run.sh computes it, for a think-time run whose file does not state it."""
    if basis == "ceiling":
        bare_counts = [c for s, c in runs if s == BARE]
        bare_rps = runs[(BARE, max(bare_counts))].get("rps") if bare_counts else None
        return ceiling(bare_rps, (pgbench.get(scenario) or {}).get("tps"))
    return max((run["rps"] for (s, _), run in runs.items()
                if s == scenario and run.get("rps") is not None), default=None)


def build_user_rows(users: dict, runs: dict, pgbench: dict) -> list[dict]:
    """One row per think-time run; ratio_to_basis = achieved rps / basis rps."""
    rows = []
    for scenario in sorted(users, key=scenario_key):
        run = users[scenario]
        latency = run.get("latency_ms") or {}
        server = run.get("server") or {}
        rps = run.get("rps")
        basis = run.get("basis") or ("ceiling" if scenario in READS else "saturation")
        basis_rps = run.get("basis_rps")
        if basis_rps is None:
            basis_rps = basis_from_runs(scenario, basis, runs, pgbench)
        rows.append({
            "scenario": scenario,
            "connections": run.get("connections"),
            "think_ms": run.get("think_ms"),
            "offered_rps": run.get("offered_rps"),
            "achieved_rps": rps,
            "basis": basis,
            "basis_rps": basis_rps,
            "ratio_to_basis": rps / basis_rps if basis_rps and rps is not None else None,
            "latency_ms": {k: latency.get(k) for k in ("p50", "p99", "p999")},
            "errors": errors_total(run),
            "cpu_percent": server.get("cpu_percent"),
            "rss_mb_peak": server.get("rss_mb_peak"),
            "stall": stalled(latency),
        })
    return rows


def notes_for(runs: dict, users: dict) -> list[str]:
    """Anything that makes a run's figures doubtful."""
    labelled = [(f"{scenario} at {connections} connections", run)
                for (scenario, connections), run in sorted(
                    runs.items(), key=lambda i: (scenario_key(i[0][0]), i[0][1]))]
    labelled += [(f"{scenario}, think-time run", users[scenario])
                 for scenario in sorted(users, key=scenario_key)]
    notes = []
    for where, run in labelled:
        if (run.get("server") or {}).get("server_exited"):
            notes.append(f"{where}: the server exited during the run")
        if run.get("exit_code") not in (None, 0):
            notes.append(f"{where}: wrk exited with status {run['exit_code']}")
        if "wrk_out_error" in run:
            notes.append(f"{where}: wrk's report was unreadable ({run['wrk_out_error']})")
        elif "rps" not in run:
            notes.append(f"{where}: wrk wrote no report")
    return notes


def evaluate_targets(rows: list[dict], user_rows: list[dict], idle: dict | None = None,
                     quick: bool = False) -> list[dict]:
    by_scenario: dict[str, list[dict]] = {}
    for row in rows:
        by_scenario.setdefault(row["scenario"], []).append(row)
    users = {user["scenario"]: user for user in user_rows}
    overall_max = max((row["connections"] for row in rows), default=None)
    targets = []

    for scenario in READS:
        scenario_rows = sorted(by_scenario.get(scenario) or [], key=lambda r: r["connections"])
        user = users.get(scenario)
        if not scenario_rows and not user:
            targets.append(target(scenario, "read", None, None, "not measured"))
            continue
        failures, parts = [], []
        if user:
            parts.append(think_time_figures(user, "read", failures))
        else:
            parts.append(no_users(scenario) + "latency not judged")
        if scenario_rows:
            judged = next((r for r in scenario_rows
                           if r["connections"] == READ_RATIO_CONNECTIONS), scenario_rows[-1])
            where = f"closed loop c{judged['connections']}"
            if judged["ratio"] is None:
                failures.append(f"{where}: no ratio (pgbench result or bare run missing)")
            elif judged["ratio"] < READ_MIN_CLOSED_RATIO:
                failures.append(f"{where}: ratio {judged['ratio']:.2f} < {READ_MIN_CLOSED_RATIO}")
            else:
                parts.append(f"{where}: ratio {judged['ratio']:.2f} ≥ {READ_MIN_CLOSED_RATIO}")
            if judged["connections"] != READ_RATIO_CONNECTIONS:
                parts.append(f"not measured at {READ_RATIO_CONNECTIONS} connections")
        else:
            failures.append("no closed-loop runs")
        closed_checks(scenario, scenario_rows, failures, parts)
        reason = "; ".join(parts + failures)
        if scenario_rows:
            reason += short_of(scenario_rows[-1]["connections"], overall_max)
        targets.append(target(scenario, "read", user["connections"] if user else
                              (scenario_rows[-1]["connections"] if scenario_rows else None),
                              not failures, reason,
                              run="think time" if user else "closed loop"))

    for scenario in HEAVY_READS:
        scenario_rows = sorted(by_scenario.get(scenario) or [], key=lambda r: r["connections"])
        if not scenario_rows:
            targets.append(target(scenario, "read", None, None, "not measured"))
            continue
        failures, parts = [], []
        closed_checks(scenario, scenario_rows, failures, parts)
        reason = "; ".join(parts + failures) + short_of(scenario_rows[-1]["connections"],
                                                         overall_max)
        targets.append(target(scenario, "read", scenario_rows[-1]["connections"], not failures,
                              reason, run="closed loop"))

    for scenario in WRITES:
        scenario_rows = sorted(by_scenario.get(scenario) or [], key=lambda r: r["connections"])
        user = users.get(scenario)
        if not scenario_rows and not user:
            targets.append(target(scenario, "write", None, None, "not measured"))
            continue
        failures, parts = [], []
        if user:
            parts.append(think_time_figures(user, "write", failures))
        else:
            worst = 0.0
            for row in scenario_rows:
                p99 = row["latency_ms"]["p99"]
                if p99 is None:
                    failures.append(f"c{row['connections']}: no latency figures")
                elif p99 >= WRITE_MAX_P99_MS:
                    failures.append(f"c{row['connections']}: p99 {p99:.2f} ms ≥ "
                                    f"{WRITE_MAX_P99_MS:g} ms")
                else:
                    worst = max(worst, p99)
            parts.append(no_users(scenario) + f"p99 ≤ {worst:.2f} ms")
        closed_checks(scenario, scenario_rows, failures, parts)
        reason = "; ".join(parts + failures)
        if scenario_rows:
            reason += short_of(scenario_rows[-1]["connections"], overall_max)
        targets.append(target(scenario, "write", user["connections"] if user else
                              (scenario_rows[-1]["connections"] if scenario_rows else None),
                              not failures, reason,
                              run="think time" if user else "closed loop"))

    rss = [r["rss_mb_peak"] for r in rows + user_rows if r.get("rss_mb_peak") is not None]
    if rss:
        peak = max(rss)
        reason = f"peak RSS {peak:.1f} MiB over every run (goal < {MAX_RSS_MIB:g} MiB)"
        per_1000 = (idle or {}).get("rss_mib_per_1000")
        if per_1000 is not None:
            reason += (f"; {per_1000:.1f} MiB per 1,000 idle keep-alive connections "
                       f"({idle['connections']['open']} open)")
        targets.append(target("server", "memory", None, peak < MAX_RSS_MIB, reason,
                              run="every run"))
    if quick:
        for t in targets:
            t["reason"] = "quick run, indicative: " + t["reason"]
    return targets


def think_time_figures(user: dict, kind: str, failures: list) -> str:
    """The think-time run's figures; its failures appended to `failures`."""
    ratio = user["ratio_to_basis"]
    if kind == "read":
        if user["basis"] != "ceiling":
            failures.append(f"achieved rps compared with {user['basis']}, not the ceiling")
        elif ratio is None:
            failures.append("no ceiling (basis rps missing, pgbench or bare run missing)")
        elif ratio < READ_MIN_RATIO:
            failures.append(f"{ratio:.3f} of ceiling < {READ_MIN_RATIO}")
    p99, p999 = user["latency_ms"]["p99"], user["latency_ms"]["p999"]
    max_p99 = READ_MAX_P99_MS if kind == "read" else WRITE_MAX_P99_MS
    if p99 is None:
        failures.append("no latency figures")
    elif p99 >= max_p99:
        failures.append(f"think time: p99 {p99:.2f} ms ≥ {max_p99:g} ms")
    if kind == "read" and p999 is not None and p999 >= READ_MAX_P999_MS:
        failures.append(f"think time: p99.9 {p999:.2f} ms ≥ {READ_MAX_P999_MS:g} ms")
    if user["errors"] is None:
        failures.append("think time: no error counts")
    elif user["errors"]:
        failures.append(f"think time: {user['errors']} error(s)")
    if user.get("stall"):
        failures.append(stall_reason("in the think-time run", user["latency_ms"]))

    share = f"{ratio:.2f} of {user['basis']}" if ratio is not None else f"no {user['basis']}"
    if kind == "write":
        achieved = user["achieved_rps"]
        share = (f"{achieved:.0f} rps" if achieved is not None else "no rps") + f" ({share})"
    figures = [share, f"p99 {p99:.2f} ms" if p99 is not None else "no p99",
               f"p99.9 {p999:.2f} ms" if p999 is not None else "no p99.9",
               f"{user['errors']} errors" if user["errors"] is not None else "no error counts"]
    conns = user["connections"]
    return (f"{conns} conns: " if conns is not None else "think-time run: ") + ", ".join(figures)


def closed_checks(scenario: str, scenario_rows: list[dict], failures: list, parts: list) -> None:
    """What every scenario's closed-loop runs must hold (no errors, no stall) and the goals of
    some scenarios (throughput, p99.9)."""
    errors = [f"closed loop c{row['connections']}: "
              + ("no error counts" if row["errors"] is None else f"{row['errors']} error(s)")
              for row in scenario_rows if row["errors"] != 0]
    failures += errors
    failures += [stall_reason(f"at c{row['connections']}", row["latency_ms"])
                 for row in scenario_rows if row["stall"]]
    if scenario_rows and not errors:
        counts = ", ".join(str(r["connections"]) for r in scenario_rows)
        parts.append(f"closed loop: no errors at {counts} connections")
    by_count = {row["connections"]: row for row in scenario_rows}
    if scenario in THROUGHPUT_GOALS:
        conns, goal = THROUGHPUT_GOALS[scenario]
        rps = (by_count.get(conns) or {}).get("rps")
        if rps is None:
            failures.append(f"not measured at {conns} connections (goal ≥ {goal:,.0f} req/s)")
        elif rps < goal:
            failures.append(f"c{conns}: {rps:,.0f} req/s < {goal:,.0f}")
        else:
            parts.append(f"c{conns}: {rps:,.0f} req/s ≥ {goal:,.0f}")
    if scenario in CLOSED_P999_GOALS:
        counts, goal = CLOSED_P999_GOALS[scenario]
        for conns in counts:
            p999 = ((by_count.get(conns) or {}).get("latency_ms") or {}).get("p999")
            if p999 is None:
                failures.append(f"no p99.9 at {conns} connections (goal < {goal:g} ms)")
            elif p999 >= goal:
                failures.append(f"closed loop c{conns}: p99.9 {p999:.2f} ms ≥ {goal:g} ms")
            else:
                parts.append(f"closed loop c{conns}: p99.9 {p999:.2f} ms < {goal:g} ms")
    if scenario in CLOSED_P99_GOALS:
        counts, goal = CLOSED_P99_GOALS[scenario]
        for conns in counts:
            p99 = ((by_count.get(conns) or {}).get("latency_ms") or {}).get("p99")
            if p99 is None:
                failures.append(f"no p99 at {conns} connections (goal < {goal:g} ms)")
            elif p99 >= goal:
                failures.append(f"closed loop c{conns}: p99 {p99:.2f} ms ≥ {goal:g} ms")
            else:
                parts.append(f"closed loop c{conns}: p99 {p99:.2f} ms < {goal:g} ms")


def no_users(scenario: str) -> str:
    """The start of a reason when a scenario is judged on its closed-loop runs only."""
    return f"no think-time run (users-{scenario}.json), judged on the closed loop: "


def short_of(connections: int, overall_max: int | None) -> str:
    """A remark when a scenario was not measured up to the run's highest connection count."""
    if overall_max is None or connections >= overall_max:
        return ""
    return f" (measured up to {connections} connections only; the run went to {overall_max})"


def target(scenario: str, kind: str, connections, passed, reason: str,
           run: str | None = None) -> dict:
    """run: the run judged, "think time" or "closed loop"; None when nothing was measured."""
    status = "MISSING" if passed is None else ("PASS" if passed else "FAIL")
    return {"scenario": scenario, "kind": kind, "run": run, "connections": connections,
            "status": status, "reason": reason}


def summarise(targets: list[dict]) -> str:
    counts = {s: sum(t["status"] == s for t in targets) for s in ("PASS", "FAIL", "MISSING")}
    text = f"targets: {counts['PASS']}/{len(targets)} pass"
    if counts["FAIL"]:
        failed = ", ".join(t["scenario"] for t in targets if t["status"] == "FAIL")
        text += f", {counts['FAIL']} fail ({failed})"
    if counts["MISSING"]:
        missing = ", ".join(t["scenario"] for t in targets if t["status"] == "MISSING")
        text += f", {counts['MISSING']} not measured ({missing})"
    return text


# --- rendering ----------------------------------------------------------------------------

def num(value, decimals: int = 0) -> str:
    """A number for a table cell; blank when unknown."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{value:.{decimals}f}"


def cell(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def flatten(meta, prefix: str = "") -> list[tuple[str, object]]:
    """Nested objects become dotted keys; other values are shown as they are."""
    if not isinstance(meta, dict):
        return [(prefix or "value", meta)]
    items = []
    for key, value in meta.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            items += flatten(value, name)
        else:
            items.append((name, value))
    return items


def markdown(rows, user_rows, pgbench, meta, targets, notes, summary, push=None, chat=None,
             worker=None) -> str:
    parts = ["# Benchmark report", ""]
    if meta:
        parts += ["## Run", "",
                  table(["Item", "Value"], [[cell(k), cell(v)] for k, v in flatten(meta)]), ""]

    parts += ["## Results", "",
              "Closed-loop runs: every connection sends its next request as soon as the "
              "previous answer arrives. Latencies in ms; errors are non-2xx/3xx responses plus socket errors; CPU % is "
              "server CPU time over wall time (100 = one core). Ceiling = 1/(1/H + 1/D) with H "
              f"the `{BARE}` rps at the same connection count and D the pgbench tps of the "
              "scenario's queries; ratio = rps / ceiling. Stall: p99.9 above "
              f"{STALL_FACTOR:g} × p99.", ""]
    parts.append(table(
        ["Scenario", "Conns", "RPS", "p50", "p99", "p99.9", "Stall", "Errors", "CPU %",
         "Peak RSS MB", "Ceiling", "Ratio"],
        [[row["scenario"], str(row["connections"]), num(row["rps"]),
          num(row["latency_ms"]["p50"], 2), num(row["latency_ms"]["p99"], 2),
          num(row["latency_ms"]["p999"], 2), "**yes**" if row["stall"] else "",
          num(row["errors"]), num(row["cpu_percent"]),
          num(row["rss_mb_peak"], 1), num(row["ceiling_rps"]), num(row["ratio"], 2)]
         for row in rows],
        right=set(range(1, 12)),
    ))
    parts.append("")

    if user_rows:
        counts = {u["connections"] for u in user_rows}
        conns = counts.pop() if len(counts) == 1 and None not in counts else 1000
        needed = conns / (READ_MAX_P99_MS / 1000)
        parts += [f"## {conns} connections at a fixed share of capacity", "",
                  "The closed-loop runs above measure capacity, not latency under load: by "
                  "Little's law their mean latency is connections / throughput, so at "
                  f"{conns} connections a p99 under {READ_MAX_P99_MS:g} ms would need over "
                  f"{needed:,.0f} req/s. Latency at {conns} connections is measured instead with "
                  "each connection pausing an exponentially distributed think time (mean "
                  "below) before each request, so the offered load is about 55 % of the "
                  "ceiling for reads and 50 % of the best closed-loop (saturation) throughput "
                  "for writes and `livez`. Achieved / basis = achieved rps over that ceiling or "
                  "saturation figure. Latencies in ms.", ""]
        parts.append(table(
            ["Scenario", "Conns", "Think ms", "Offered RPS", "Achieved RPS", "Achieved / basis",
             "p50", "p99", "p99.9", "Stall", "Errors", "CPU %", "Peak RSS MB"],
            [[u["scenario"], num(u["connections"]), num(u["think_ms"], 1),
              num(u["offered_rps"]), num(u["achieved_rps"]),
              (f"{u['ratio_to_basis']:.2f} of {u['basis']}"
               if u["ratio_to_basis"] is not None else ""),
              num(u["latency_ms"]["p50"], 2), num(u["latency_ms"]["p99"], 2),
              num(u["latency_ms"]["p999"], 2), "**yes**" if u["stall"] else "",
              num(u["errors"]), num(u["cpu_percent"]), num(u["rss_mb_peak"], 1)]
             for u in user_rows],
            right=set(range(1, 13)),
        ))
        parts.append("")

    if pgbench:
        parts += ["## Database only (pgbench)", "", table(
            ["Scenario", "Clients", "TPS", "Latency avg ms", "Transactions", "Failed"],
            [[name, num(p.get("clients")), num(p.get("tps")), num(p.get("latency_ms_avg"), 2),
              num(p.get("transactions")), num(p.get("failed"))]
             for name, p in sorted(pgbench.items(), key=lambda i: scenario_key(i[0]))],
            right=set(range(1, 6)),
        ), ""]

    parts += ["## Targets", "",
              f"Reads ({', '.join(READS)}): closed-loop ratio ≥ {READ_MIN_CLOSED_RATIO} at "
              f"{READ_RATIO_CONNECTIONS} connections; in the think-time run achieved / ceiling ≥ "
              f"{READ_MIN_RATIO}, p99 < {READ_MAX_P99_MS:g} ms, p99.9 < {READ_MAX_P999_MS:g} ms, "
              f"no errors. Writes ({', '.join(WRITES)}), in the think-time run: p99 < "
              f"{WRITE_MAX_P99_MS:g} ms, no errors (without one: the closed-loop p99 at every "
              "count). Both: no errors and no stall in any run. The leaderboard: closed-loop "
              "p99.9 < 50 ms at 16 and 64 connections; the catalog ≥ 2,900 and the module page "
              f"≥ 3,000 req/s at 16. The server: peak RSS < {MAX_RSS_MIB:g} MiB.", "",
              table(["Scenario", "Kind", "Run", "Conns", "Result", "Reason"],
                    [[t["scenario"], t["kind"], t["run"] or "", num(t["connections"]),
                      f"**{t['status']}**", cell(t["reason"])] for t in targets],
                    right={3}),
              "", summary[0].upper() + summary[1:] + ".", ""]

    if push:
        parts += push_markdown(push, worker)
    if chat:
        parts += chat_markdown(chat)
    if notes:
        parts += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(parts)


PUSH_MAX_P99_MS = 100.0
PUSH_MAX_RSS_MIB = 300.0
PUSH_MAX_FANOUT_S = 5.0


def push_targets(push: dict) -> list[dict]:
    """The push scenario's three goals, judged on push.json."""
    lat = (push.get("latency") or {}).get("from_response_ms") or {}
    rss = (push.get("rss_mib") or {}).get("streams_idle")
    fan = push.get("fanout") or {}
    idle = (push.get("idle_streams") or {}).get("open")
    out = []
    p99 = lat.get("p99")
    out.append(target("push", "latency", (push.get("latency_streams") or {}).get("open"),
                      p99 is not None and p99 < PUSH_MAX_P99_MS
                      and not (push.get("latency") or {}).get("missed"),
                      f"p99 {num(p99, 1)} ms commit to client (goal < {PUSH_MAX_P99_MS:g} ms), "
                      f"{(push.get('latency') or {}).get('missed', 0)} missed", "streams"))
    out.append(target("push", "memory", idle, rss is not None and rss < PUSH_MAX_RSS_MIB,
                      f"RSS {num(rss, 1)} MiB with {num(idle)} idle streams "
                      f"(goal < {PUSH_MAX_RSS_MIB:g} MiB)", "streams"))
    took = fan.get("seconds_to_all")
    out.append(target("push", "fan-out", fan.get("recipients_with_streams"),
                      took is not None and took < PUSH_MAX_FANOUT_S,
                      (f"every open stream had it after {num(took, 2)} s "
                       if took is not None else
                       f"only {num(fan.get('received'))} of {num(fan.get('recipients_with_streams'))} "
                       "open streams had it before the timeout ")
                      + f"(goal < {PUSH_MAX_FANOUT_S:g} s)",
                      "streams"))
    return out


def push_markdown(push: dict, worker: dict | None = None) -> list[str]:
    lat = push.get("latency") or {}
    rss = push.get("rss_mib") or {}
    fan = push.get("fanout") or {}
    rows = [
        ["Streams open for the latency run", num((push.get("latency_streams") or {}).get("open"))],
        ["Writes (progress overrides) per second", num(lat.get("rate_per_s"))],
        ["Samples / missed / errors",
         f"{num(lat.get('samples'))} / {num(lat.get('missed'))} / {num(lat.get('errors'))}"],
        ["Push latency from the write's response, p50 / p90 / p99 / max ms",
         " / ".join(num((lat.get("from_response_ms") or {}).get(k), 1)
                    for k in ("p50", "p90", "p99", "max"))],
        ["Push latency from sending the write, p50 / p99 ms",
         " / ".join(num((lat.get("from_send_ms") or {}).get(k), 1) for k in ("p50", "p99"))],
        ["Idle streams open", num((push.get("idle_streams") or {}).get("open"))],
        ["Server RSS: idle / latency run / idle streams / after fan-out (MiB)",
         " / ".join(num(rss.get(k), 1)
                    for k in ("idle_server", "streams_latency", "streams_idle", "after_fanout"))],
        ["Fan-out: open streams told / received", f"{num(fan.get('recipients_with_streams'))} / "
                                                   f"{num(fan.get('received'))}"],
        ["Fan-out: seconds until half / 99 % / all had it",
         " / ".join(num(fan.get(k), 2) for k in ("seconds_to_half", "seconds_to_p99",
                                                  "seconds_to_all"))],
    ]
    if worker:
        rows.insert(0, ["Outbox events left by the write runs / seconds the worker took to work "
                        "them off before this run",
                        f"{num(worker.get('backlog'))} / {num(worker.get('drain_seconds'), 1)}"
                        + ("" if worker.get("drained") else " (not drained)")])
    return ["## Push (event streams)", "",
            "A notification's way from a write to the member's open `GET /v1/stream`: the write "
            "commits its outbox event, the worker (woken by LISTEN/NOTIFY) writes the "
            "notification and publishes it, the stream sends the frame. Latency is timed from "
            "the write's response (its commit is inside the request) to the frame's arrival. "
            "Fan-out publishes one module to every member of the open-catalog tenant and times "
            "each open stream's NEW_MODULE frame from the publish response.", "",
            table(["Measure", "Value"], rows, right={1}), ""]


CHAT_MAX_DELIVERY_P99_MS = 100.0
CHAT_MAX_HISTORY_P99_MS = 20.0


def chat_targets(chat: dict) -> list[dict]:
    """The chat scenario's goals, judged on chat.json: delivery to every subscriber and history
    pages."""
    subs = (chat.get("subscribers") or {}).get("open")
    d = chat.get("delivery") or {}
    p99 = (d.get("from_response_ms") or {}).get("p99")
    h = chat.get("history") or {}
    hp99 = (h.get("before_cursor_ms") or {}).get("p99")
    return [
        target("chat", "delivery", subs,
               p99 is not None and p99 < CHAT_MAX_DELIVERY_P99_MS and not d.get("missed_deliveries")
               and not d.get("errors"),
               f"p99 {num(p99, 1)} ms send response to each subscriber (goal < "
               f"{CHAT_MAX_DELIVERY_P99_MS:g} ms), {num(d.get('missed_deliveries'))} missed", "streams"),
        target("chat", "history", h.get("messages_in_room"),
               hp99 is not None and hp99 < CHAT_MAX_HISTORY_P99_MS and not h.get("errors"),
               f"p99 {num(hp99, 2)} ms a page of 50 (goal < {CHAT_MAX_HISTORY_P99_MS:g} ms)",
               "messages"),
    ]


def chat_markdown(chat: dict) -> list[str]:
    d = chat.get("delivery") or {}
    t = chat.get("throughput") or {}
    h = chat.get("history") or {}
    ms = lambda v, k, p=1: " / ".join(num((v or {}).get(x), p) for x in k)  # noqa: E731
    rows = [
        ["Subscribers (joined, stream open)", num((chat.get("subscribers") or {}).get("open"))],
        ["Paced messages, per second / errors / missed deliveries",
         f"{num(d.get('samples'))}, {num(d.get('rate_per_s'))} / {num(d.get('errors'))} / "
         f"{num(d.get('missed_deliveries'))}"],
        ["Delivery from the send's response, p50 / p90 / p99 / max ms",
         ms(d.get("from_response_ms"), ("p50", "p90", "p99", "max"))],
        ["Until every subscriber had it, p50 / p99 ms", ms(d.get("to_every_subscriber_ms"), ("p50", "p99"))],
        ["Burst: messages / connections / seconds / errors",
         f"{num(t.get('messages'))} / {num(t.get('connections'))} / {num(t.get('seconds'), 2)} / "
         f"{num(t.get('errors'))}"],
        ["Send throughput (messages/s)", num(t.get("messages_per_s"), 1)],
        ["Send latency in the burst, p50 / p99 ms", ms(t.get("send_ms"), ("p50", "p99"))],
        ["History: messages in the room / pages read", f"{num(h.get('messages_in_room'))} / {num(h.get('pages'))}"],
        ["A page of 50 before a random message, p50 / p99 ms", ms(h.get("before_cursor_ms"), ("p50", "p99"), 2)],
        ["The latest page of 50, p50 / p99 ms", ms(h.get("latest_ms"), ("p50", "p99"), 2)],
    ]
    return ["## Chat", "",
            "One room (the tenant's), its subscribers joined with open streams. A message is "
            "appended to every subscriber's stream in the send's transaction and published after "
            "its commit; delivery is timed from the send's response to each `chat.message_created` "
            "frame. History is read one request at a time after the room was filled in "
            "PostgreSQL.", "",
            table(["Measure", "Value"], rows, right={1}), ""]


def report(results_dir: str, out=sys.stdout) -> dict:
    runs, pgbench, users, meta = load(results_dir)
    idle_path = os.path.join(results_dir, "idle.json")
    idle = load_json(idle_path) if os.path.exists(idle_path) else None
    push_path = os.path.join(results_dir, "push.json")
    push = load_json(push_path) if os.path.exists(push_path) else None
    chat_path = os.path.join(results_dir, "chat.json")
    chat = load_json(chat_path) if os.path.exists(chat_path) else None
    worker_path = os.path.join(results_dir, "worker.json")
    worker = load_json(worker_path) if os.path.exists(worker_path) else None
    rows = build_rows(runs, pgbench)
    user_rows = build_user_rows(users, runs, pgbench)
    quick = bool(meta.get("quick"))
    targets = (evaluate_targets(rows, user_rows, idle, quick)
               + (push_targets(push) if push else [])
               + (chat_targets(chat) if chat else []))
    notes = notes_for(runs, users)
    summary = ("quick run, indicative: " if quick else "") + summarise(targets)
    result = {"meta": meta, "idle": idle, "results": rows, "users": user_rows, "pgbench": pgbench,
              "push": push, "chat": chat, "worker": worker, "targets": targets, "notes": notes,
              "summary": summary}
    with open(os.path.join(results_dir, "report.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(results_dir, "report.md"), "w", encoding="utf-8") as f:
        f.write(markdown(rows, user_rows, pgbench, meta, targets, notes, summary, push, chat,
                         worker))
    for t in targets:
        where = f" at c{t['connections']}" if t["connections"] is not None else ""
        where += f", {t['run']}" if t["run"] else ""
        print(f"{t['status']:<7} {t['scenario']} ({t['kind']}{where}): {t['reason']}", file=out)
    for note in notes:
        print(f"note: {note}", file=out)
    print(f"{summary} — {os.path.join(results_dir, 'report.md')}", file=out)
    return result


# --- self-test ----------------------------------------------------------------------------

def fake_run(rps: float, p99: float, errors: int = 0) -> dict:
    return {
        "requests": int(rps * 10), "duration_s": 10.0, "rps": rps, "bytes": 1000,
        "latency_ms": {"mean": p99 / 3, "p50": p99 / 4, "p90": p99 / 2, "p99": p99,
                       "p999": p99 * 2, "max": p99 * 3},
        "errors": {"connect": 0, "read": 0, "write": 0, "status": errors, "timeout": 0,
                   "total": errors},
        "wall_s": 10.01, "exit_code": 0,
        "server": {"cpu_percent": 180.0, "cpu_s": 18.0, "rss_mb_peak": 64.0, "rss_mb_end": 60.0,
                   "samples": 100},
    }


def fake_users(rps: float, p99: float, basis: str, basis_rps: float | None,
               errors: int = 0) -> dict:
    """A think-time run as run.sh writes it; basis_rps None leaves it out of the file."""
    share = 0.55 if basis == "ceiling" else 0.5
    offered = share * (basis_rps or 4000)
    run = fake_run(rps, p99, errors)
    run.update(connections=1000, think_ms=1000 / offered * 1000, offered_rps=offered,
               basis=basis)
    if basis_rps is not None:
        run["basis_rps"] = basis_rps
    return run


def write_files(directory: str, files: dict) -> None:
    for name, content in files.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            json.dump(content, f)


def with_latency(run: dict, p99: float, p999: float) -> dict:
    run["latency_ms"].update(p99=p99, p999=p999)
    return run


def self_test() -> int:
    import io

    files = {
        "wrk-bare-c16.json": fake_run(25000, 5),
        "wrk-bare-c64.json": fake_run(24000, 8),
        "wrk-bare-c1000.json": fake_run(20000, 40),
        "wrk-livez-c1000.json": fake_run(18000, 45),
        "wrk-dashboard-c16.json": fake_run(3500, 10),
        # H 24000, D 5000 -> ceiling 4137.9, ratio 0.82
        "wrk-dashboard-c64.json": fake_run(3400, 20),
        "pgbench-dashboard.json": {"tps": 5000.0, "clients": 16, "latency_ms_avg": 3.2,
                                   "transactions": 150000, "failed": 0},
        "wrk-module-c64.json": fake_run(1000, 20),        # ratio 0.24
        "pgbench-module.json": {"tps": 5000.0, "clients": 16, "latency_ms_avg": 3.2,
                                "transactions": 150000, "failed": 0},
        # c16: p99.9 40 ms > 5 × p99 5 ms, a stall; c64: p99.9 60 ms ≥ 50 ms
        "wrk-leaderboard-c16.json": with_latency(fake_run(7000, 5), 5, 40),
        "wrk-leaderboard-c64.json": fake_run(9000, 30),
        "pgbench-leaderboard.json": {"tps": 20000.0, "clients": 16, "latency_ms_avg": 0.8,
                                     "transactions": 600000, "failed": 0},
        # only c16: ceiling 1/(1/25000 + 1/4000) = 3448, ratio 0.86; 2950 ≥ 2900 req/s
        "wrk-catalog-c16.json": fake_run(2950, 6),
        "pgbench-catalog.json": {"tps": 4000.0, "clients": 16, "latency_ms_avg": 4.0,
                                 "transactions": 120000, "failed": 0},
        # p99 60 ms < 100 ms at 64 connections, its own goal (no read ratio, no think time)
        "wrk-manager_dashboard-c64.json": fake_run(400, 60),
        "wrk-section_complete-c16.json": fake_run(900, 20),
        "wrk-section_complete-c1000.json": fake_run(800, 120),
        "wrk-quiz_submit-c16.json": fake_run(900, 30),
        "wrk-quiz_submit-c1000.json": fake_run(800, 45),
        "wrk-redeem-c1000.json": fake_run(700, 20, errors=5),
        "meta.json": {"machine": "2 vCPU | 4 GiB", "commit": "abc1234",
                      "dataset": {"users": 10000, "modules": 50}, "durations_s": [10, 10]},
    }
    with tempfile.TemporaryDirectory() as tmp:
        # Without think-time runs: latency is not judged for reads.
        write_files(tmp, files)
        out = io.StringIO()
        result = report(tmp, out=out)

        rows = {(r["scenario"], r["connections"]): r for r in result["results"]}
        dashboard = rows[("dashboard", 64)]
        assert math.isclose(dashboard["ceiling_rps"], 1 / (1 / 24000 + 1 / 5000)), dashboard
        assert math.isclose(dashboard["ratio"], 3400 / dashboard["ceiling_rps"]), dashboard
        assert rows[("livez", 1000)]["ratio"] is None
        assert rows[("leaderboard", 16)]["stall"] and not rows[("leaderboard", 64)]["stall"]
        assert [r["scenario"] for r in result["results"]][:4] == ["bare", "bare", "bare", "livez"]

        status = {t["scenario"]: t["status"] for t in result["targets"]}
        assert status == {"dashboard": "PASS", "module": "FAIL", "leaderboard": "FAIL",
                          "catalog": "PASS", "module_page": "MISSING",
                          "manager_dashboard": "PASS",
                          "section_complete": "FAIL", "quiz_submit": "PASS",
                          "redeem": "FAIL", "question": "MISSING", "server": "PASS"}, status
        reasons = {t["scenario"]: t["reason"] for t in result["targets"]}
        assert "closed loop c64: ratio 0.24 < 0.8" in reasons["module"], reasons
        assert "stall at c16: p99.9 40.00 ms > 5 × p99 5.00 ms" in reasons["leaderboard"], reasons
        assert "closed loop c64: p99.9 60.00 ms ≥ 50 ms" in reasons["leaderboard"], reasons
        assert "closed loop c16: ratio 0.86 ≥ 0.8" in reasons["catalog"], reasons
        assert "not measured at 64 connections" in reasons["catalog"], reasons
        assert "c16: 2,950 req/s ≥ 2,900" in reasons["catalog"], reasons
        assert "closed loop c64: p99 60.00 ms < 100 ms" in reasons["manager_dashboard"], reasons
        assert "c1000: p99 120.00 ms ≥ 50 ms" in reasons["section_complete"], reasons
        assert "closed loop c1000: 5 error(s)" in reasons["redeem"], reasons
        assert reasons["dashboard"].startswith("no think-time run (users-dashboard.json), "
                                               "judged on the closed loop: latency not judged"), \
            reasons
        assert reasons["server"] == "peak RSS 64.0 MiB over every run (goal < 100 MiB)", reasons
        assert result["users"] == [], result["users"]

        with open(os.path.join(tmp, "report.md"), encoding="utf-8") as f:
            md = f.read()
        assert "| dashboard | 64 | 3400 | 5.00 | 20.00 | 40.00 |  | 0 | 180 | 64.0 | 4138 | 0.82 |" \
            in md, md
        assert "| leaderboard | 16 | 7000 | 1.25 | 5.00 | 40.00 | **yes** | 0 |" in md, md
        assert "| machine | 2 vCPU \\| 4 GiB |" in md and "| dataset.users | 10000 |" in md, md
        with open(os.path.join(tmp, "report.json"), encoding="utf-8") as f:
            assert json.load(f)["summary"].startswith("targets: 5/11 pass, 4 fail")
        assert "PASS    dashboard (read at c64, closed loop)" in out.getvalue(), out.getvalue()
        assert "fixed share of capacity" not in md, md

        # With think-time runs: they judge latency where present.
        write_files(tmp, {
            # ceiling 4000 given; 2100 / 4000 = 0.525, p99 12 ms, p99.9 24 ms
            "users-dashboard.json": fake_users(2100, 12, "ceiling", 4000),
            # basis_rps left out: computed from bare at c1000 and pgbench, 4000; p99 too high
            "users-module.json": fake_users(2200, 60, "ceiling", None),
            "users-livez.json": fake_users(9000, 8, "saturation", 18000),
            # p99 19 ms but p99.9 120 ms: a stall, and over 50 ms
            "users-catalog.json": with_latency(fake_users(1800, 19, "ceiling", 3448), 19, 120),
            # passes although the closed loop's p99 at c1000 is 120 ms
            "users-section_complete.json": fake_users(410, 45, "saturation", 900),
            # passes itself, but the closed loop had 5 errors
            "users-redeem.json": fake_users(350, 30, "saturation", 700),
            "idle.json": {"connections": {"asked": 1000, "open": 1000, "failed": 0},
                          "rss_mib": {"before": 40.0, "idle_open": 47.5, "after_close": 44.0},
                          "rss_mib_per_1000": 7.5},
        })
        out = io.StringIO()
        result = report(tmp, out=out)

        users = {u["scenario"]: u for u in result["users"]}
        assert [u["scenario"] for u in result["users"]] == \
            ["livez", "dashboard", "module", "catalog", "section_complete", "redeem"], \
            result["users"]
        assert math.isclose(users["dashboard"]["ratio_to_basis"], 0.525), users["dashboard"]
        assert math.isclose(users["module"]["basis_rps"], 4000), users["module"]
        assert math.isclose(users["module"]["ratio_to_basis"], 0.55), users["module"]
        assert users["catalog"]["stall"] and not users["dashboard"]["stall"], users

        status = {t["scenario"]: t["status"] for t in result["targets"]}
        assert status == {"dashboard": "PASS", "module": "FAIL", "leaderboard": "FAIL",
                          "catalog": "FAIL", "module_page": "MISSING",
                          "manager_dashboard": "PASS",
                          "section_complete": "PASS", "quiz_submit": "PASS",
                          "redeem": "FAIL", "question": "MISSING", "server": "PASS"}, status
        runs = {t["scenario"]: t["run"] for t in result["targets"]}
        assert runs["dashboard"] == "think time" and runs["quiz_submit"] == "closed loop", runs
        reasons = {t["scenario"]: t["reason"] for t in result["targets"]}
        assert reasons["dashboard"].startswith("1000 conns: 0.53 of ceiling, p99 12.00 ms, "
                                               "p99.9 24.00 ms, 0 errors; closed loop c64: "
                                               "ratio 0.82 ≥ 0.8"), reasons
        assert "think time: p99 60.00 ms ≥ 20 ms" in reasons["module"], reasons
        assert "think time: p99.9 120.00 ms ≥ 50 ms" in reasons["catalog"], reasons
        assert "stall in the think-time run: p99.9 120.00 ms > 5 × p99 19.00 ms" \
            in reasons["catalog"], reasons
        assert reasons["section_complete"].startswith(
            "1000 conns: 410 rps (0.46 of saturation), p99 45.00 ms"), reasons
        assert "closed loop c1000: 5 error(s)" in reasons["redeem"], reasons
        assert reasons["quiz_submit"].startswith("no think-time run"), reasons
        assert "7.5 MiB per 1,000 idle keep-alive connections (1000 open)" \
            in reasons["server"], reasons

        with open(os.path.join(tmp, "report.md"), encoding="utf-8") as f:
            md = f.read()
        assert "## 1000 connections at a fixed share of capacity" in md, md
        assert md.index("## Results") < md.index("fixed share of capacity") \
            < md.index("## Database only"), md
        assert "| dashboard | 1000 | 454.5 | 2200 | 2100 | 0.53 of ceiling | 3.00 | 12.00 | " \
            "24.00 |  | 0 | 180 | 64.0 |" in md, md
        assert "| catalog | 1000 |" in md and "| 19.00 | 120.00 | **yes** |" in md, md
        with open(os.path.join(tmp, "report.json"), encoding="utf-8") as f:
            saved = json.load(f)
        assert saved["summary"].startswith("targets: 5/11 pass, 4 fail"), saved["summary"]
        assert saved["idle"]["rss_mib_per_1000"] == 7.5, saved["idle"]
        assert "PASS    dashboard (read at c1000, think time)" in out.getvalue(), out.getvalue()

        # A quick run says so, and the memory goal fails above 100 MiB.
        heavy = fake_run(3000, 10)
        heavy["server"]["rss_mb_peak"] = 120.0
        write_files(tmp, {"meta.json": {"quick": True}, "wrk-dashboard-c16.json": heavy})
        result = report(tmp, out=io.StringIO())
        assert result["summary"].startswith("quick run, indicative: targets:"), result["summary"]
        server = next(t for t in result["targets"] if t["scenario"] == "server")
        assert server["status"] == "FAIL" and "peak RSS 120.0 MiB" in server["reason"], server

    # The push scenario: two goals met, fan-out incomplete.
    with tempfile.TemporaryDirectory() as tmp:
        write_files(tmp, {**files, "push.json": {
            "latency_streams": {"open": 1000, "failed": 0},
            "latency": {"samples": 500, "missed": 0, "errors": 0, "rate_per_s": 20,
                        "from_response_ms": {"p50": 8.0, "p90": 15.0, "p99": 42.5, "max": 60.0},
                        "from_send_ms": {"p50": 20.0, "p99": 70.0}},
            "idle_streams": {"open": 10000, "failed": 0},
            "rss_mib": {"idle_server": 40.0, "streams_latency": 60.0, "streams_idle": 180.2,
                        "after_fanout": 190.0},
            "fanout": {"recipients_with_streams": 9999, "received": 9000,
                       "seconds_to_half": 1.0, "seconds_to_p99": 2.0, "seconds_to_all": None},
        }})
        out = io.StringIO()
        saved = report(tmp, out=out)
        kinds = {t["kind"]: t for t in saved["targets"] if t["scenario"] == "push"}
        assert kinds["latency"]["status"] == "PASS", kinds
        assert kinds["memory"]["status"] == "PASS", kinds
        assert kinds["fan-out"]["status"] == "FAIL", kinds
        assert "only 9000 of 9999 open streams" in kinds["fan-out"]["reason"], kinds
        with open(os.path.join(tmp, "report.md"), encoding="utf-8") as f:
            md = f.read()
        assert "## Push (event streams)" in md, md
        assert "8.0 / 15.0 / 42.5 / 60.0" in md, md
    print("report.py self-test: ok")
    return 0


def main() -> int:
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    report(sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
