#!/usr/bin/env python3
"""Measures what idle keep-alive connections cost the server in memory.

Usage: idle.py --port PORT --pid PID --out FILE [--connections N] [--path /livez]

Reads the server's resident memory (VmRSS of /proc/PID/status), opens N connections that each
send one HTTP/1.1 request with keep-alive and read its answer, so every connection has been
served once and is left idle in the server's keep-alive state (GUILD_HTTP_KEEP_ALIVE_SECS, 75 s
by default, is longer than the measurement), waits for the memory to settle, reads it again,
closes them all and reads it a third time. Writes

    {"connections": {"asked": 1000, "open": 1000, "failed": 0},
     "rss_mib": {"before": 40.1, "idle_open": 47.9, "after_close": 44.0},
     "rss_mib_per_1000": 7.8}

where rss_mib_per_1000 = (idle_open - before) / open * 1000.
"""
import argparse
import asyncio
import json
import sys
import time


def rss_mib(pid: int) -> float | None:
    """Resident set size in MiB; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def settled_rss(pid: int, seconds: float = 2.0) -> float | None:
    """The highest of a few samples over `seconds`: allocations of the last accepts included."""
    best, end = None, time.monotonic() + seconds
    while time.monotonic() < end:
        value = rss_mib(pid)
        if value is not None:
            best = value if best is None else max(best, value)
        time.sleep(0.1)
    return best


async def open_one(port: int, path: str) -> asyncio.StreamWriter | None:
    """A connection that was served one request and stays open, or None."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = 0
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        if length:
            await asyncio.wait_for(reader.readexactly(length), 10)
        if not head.startswith(b"HTTP/1.1 2"):
            writer.close()
            return None
        return writer
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
        return None


async def run(args) -> dict:
    before = settled_rss(args.pid)
    writers: list[asyncio.StreamWriter] = []
    failed = 0
    # In batches, so the server's accept queue is not the thing measured.
    for start in range(0, args.connections, 250):
        batch = await asyncio.gather(*(open_one(args.port, args.path)
                                       for _ in range(min(250, args.connections - start))))
        writers += [w for w in batch if w is not None]
        failed += sum(w is None for w in batch)
    idle_open = settled_rss(args.pid)
    for writer in writers:
        writer.close()
    await asyncio.sleep(0.5)
    after_close = settled_rss(args.pid)
    per_1000 = None
    if writers and before is not None and idle_open is not None:
        per_1000 = round((idle_open - before) / len(writers) * 1000, 2)
    return {
        "connections": {"asked": args.connections, "open": len(writers), "failed": failed},
        "rss_mib": {"before": before, "idle_open": idle_open, "after_close": after_close},
        "rss_mib_per_1000": per_1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--path", default="/livez")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    c, r = result["connections"], result["rss_mib"]
    mib = lambda v: "?" if v is None else f"{v:.1f}"  # noqa: E731
    print(f"    {c['open']} idle keep-alive connections ({c['failed']} failed): RSS "
          f"{mib(r['before'])} -> {mib(r['idle_open'])} MiB, "
          f"{mib(result['rss_mib_per_1000'])} MiB per 1,000", file=sys.stderr)
    return 0 if c["open"] else 1


if __name__ == "__main__":
    sys.exit(main())
