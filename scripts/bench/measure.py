#!/usr/bin/env python3
"""Runs a load generator while sampling the server process's CPU time and memory.

Usage: measure.py --pid PID --out FILE [--interval SECONDS] -- CMD [ARGS...]

CMD (normally wrk with scripts/bench/report.lua) runs to completion while /proc/PID is sampled
every 100 ms: CPU time (utime + stime from /proc/PID/stat) and resident memory (VmRSS from
/proc/PID/status). Afterwards the JSON object CMD wrote to the file named by $BENCH_WRK_OUT is
read (an empty object when there is none; a file left from an earlier run is removed before CMD
starts, so it cannot be mistaken for this run's), the measurements are added and the result is
written to FILE:

    {...CMD's fields...,
     "wall_s": 30.02,            # CMD's run time
     "exit_code": 0,             # CMD's exit status
     "server": {"cpu_percent": 143.2,   # server CPU seconds / wall seconds * 100 (200 = 2 cores)
                "cpu_s": 42.99,
                "rss_mb_peak": 61.3,    # MiB, highest sample
                "rss_mb_end": 58.9,     # MiB, last sample
                "samples": 301,
                "server_exited": true}} # only when PID went away during the run

measure.py exits with CMD's exit status.
"""
import argparse
import json
import os
import subprocess
import sys
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of the process, in seconds; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may contain spaces; fields 14 and 15
    # (utime, stime) are the 12th and 13th after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has exited; its counters are final but it is gone
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float | None:
    """Resident set size in MiB; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024  # reported in kB
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None  # a zombie has no VmRSS line


def read_wrk_output(path: str | None) -> dict:
    if not path or not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as error:
        print(f"measure.py: cannot read {path}: {error}", file=sys.stderr)
        return {"wrk_out_error": str(error)}
    if not isinstance(data, dict):
        return {"wrk_out_error": f"{path} does not hold a JSON object"}
    return data


def main() -> int:
    parser = argparse.ArgumentParser(
        usage="measure.py --pid PID --out FILE [--interval SECONDS] -- CMD [ARGS...]",
        description="Run CMD while sampling the CPU time and RSS of process PID.",
    )
    parser.add_argument("--pid", type=int, required=True, help="server process to sample")
    parser.add_argument("--out", required=True, help="where to write the merged JSON")
    parser.add_argument("--interval", type=float, default=0.1, help="sampling period (s)")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="command to run, after --")
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command given (put it after --)")

    wrk_out = os.environ.get("BENCH_WRK_OUT")
    if wrk_out and os.path.exists(wrk_out):
        os.remove(wrk_out)

    cpu_start = cpu_seconds(args.pid)
    cpu_last, cpu_last_at = cpu_start, None  # latest CPU sample and when it was taken
    rss_samples: list[float] = []
    exited = cpu_start is None
    if exited:
        print(f"measure.py: no process {args.pid}; running the command anyway", file=sys.stderr)

    start = time.monotonic()
    try:
        child = subprocess.Popen(cmd)
    except OSError as error:
        print(f"measure.py: cannot run {cmd[0]}: {error}", file=sys.stderr)
        return 127
    try:
        while True:
            try:
                exit_code = child.wait(timeout=args.interval)
                break
            except subprocess.TimeoutExpired:
                pass
            if not exited:
                cpu, rss = cpu_seconds(args.pid), rss_mb(args.pid)
                if cpu is None or rss is None:
                    exited = True
                    print(f"measure.py: process {args.pid} exited during the run",
                          file=sys.stderr)
                else:
                    cpu_last, cpu_last_at = cpu, time.monotonic()
                    rss_samples.append(rss)
    except KeyboardInterrupt:
        # The terminal's interrupt reaches CMD too; let it finish its report.
        exit_code = child.wait()
    wall = time.monotonic() - start
    if exit_code < 0:  # killed by a signal: report it the way a shell does
        exit_code = 128 - exit_code

    # One last sample, after CMD finished.
    if not exited:
        cpu, rss = cpu_seconds(args.pid), rss_mb(args.pid)
        if cpu is None or rss is None:
            exited = True
        else:
            cpu_last, cpu_last_at = cpu, time.monotonic()
            rss_samples.append(rss)

    server: dict = {
        "cpu_percent": None,
        "cpu_s": None,
        "rss_mb_peak": round(max(rss_samples), 1) if rss_samples else None,
        "rss_mb_end": round(rss_samples[-1], 1) if rss_samples else None,
        "samples": len(rss_samples),
    }
    if cpu_start is not None:
        used = cpu_last - cpu_start
        # Once the server has gone, only the time it was observed running counts.
        span = wall if not exited else (cpu_last_at or start) - start
        server["cpu_s"] = round(used, 2)
        server["cpu_percent"] = round(used / span * 100, 1) if span > 0 else None
    if exited:
        server["server_exited"] = True

    result = read_wrk_output(wrk_out)
    result["wall_s"] = round(wall, 3)
    result["exit_code"] = exit_code
    result["server"] = server
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
