#!/usr/bin/env python3
"""The push scenario of `make bench`: real-time delivery over `GET /v1/stream`.

Against a running server (worker included) on the bench data set, it:

  1. opens LATENCY_STREAMS event streams (one member each) and waits for each `ready` frame;
  2. push latency: an admin completes a module for one of those members at a time
     (`POST /v1/members/{id}/progress-overrides`, paced at RATE per second); the member's next
     `notification` frame is timed from the moment the write's response arrived (its commit is
     inside the request) and, as an upper bound, from the moment the request was sent;
  3. opens more streams up to IDLE_STREAMS, lets them sit, and reads the server's RSS;
  4. fan-out: the owner publishes a module to the whole (open-catalog) tenant; the time from
     the publish response until each open stream receives its NEW_MODULE notification.

Results go to --out as JSON; a summary goes to stderr. Standard library only.

  push.py --port P --pid PID --tokens FILE --targets FILE --owner-token TOKEN --out FILE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class Http:
    """One keep-alive HTTP/1.1 connection for JSON requests."""

    def __init__(self, host: str, port: int, token: str):
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}",
                 f"Authorization: Bearer {self.token}", f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        found: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode().partition(":")
            found[name.strip().lower()] = value.strip()
        if "content-length" in found:
            data = await self.reader.readexactly(int(found["content-length"]))
        elif found.get("transfer-encoding") == "chunked":
            data = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
        else:
            data = b""
        return status, found, data


class Stream:
    """One member's open event stream, parsing SSE frames as they arrive."""

    def __init__(self, user_id: str, token: str, hub: "Hub"):
        self.user_id, self.token, self.hub = user_id, token, hub
        self.ready = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task | None = None

    async def run(self, host: str, port: int) -> None:
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write((f"GET /v1/stream HTTP/1.1\r\nHost: {host}\r\n"
                          f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n\r\n").encode())
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            chunked = False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                if line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower():
                    chunked = True
            if status != 200:
                raise RuntimeError(f"stream answered {status}")
            buffer = b""
            while True:
                if chunked:
                    size_line = await reader.readline()
                    if not size_line:
                        return
                    size = int(size_line.strip() or b"0", 16)
                    data = await reader.readexactly(size + 2)
                    if size == 0:
                        return
                    buffer += data[:-2]
                else:
                    data = await reader.read(65536)
                    if not data:
                        return
                    buffer += data
                while b"\n\n" in buffer:
                    frame, buffer = buffer.split(b"\n\n", 1)
                    self.frame(frame.decode())
        except Exception as error:  # noqa: BLE001 - reported as a failed stream
            if not self.ready.done():
                self.ready.set_exception(error)

    def frame(self, text: str) -> None:
        now = time.monotonic()
        event, data = "message", ""
        for line in text.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
        if event == "ready" and not self.ready.done():
            self.ready.set_result(now)
        elif event == "notification":
            self.hub.arrived(self.user_id, now, json.loads(data) if data else {})


class Hub:
    """Where frames are reported: waiters for a member's next notification, and fan-out arrivals."""

    def __init__(self):
        self.waiting: dict[str, asyncio.Future] = {}
        self.fanout_entity: str | None = None
        self.fanout_arrivals: dict[str, float] = {}

    def arrived(self, user_id: str, at: float, notification: dict) -> None:
        link = notification.get("link") or {}
        if self.fanout_entity and link.get("id") == self.fanout_entity:
            self.fanout_arrivals.setdefault(user_id, at)
            return
        waiter = self.waiting.pop(user_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(at)


async def open_streams(members: list[tuple[str, str]], hub: Hub, host: str, port: int,
                       parallel: int = 100) -> tuple[list[Stream], int]:
    streams: list[Stream] = []
    failed = 0
    for start in range(0, len(members), parallel):
        batch = [Stream(user_id, token, hub) for user_id, token in members[start:start + parallel]]
        for stream in batch:
            stream.task = asyncio.create_task(stream.run(host, port))
        for stream in batch:
            try:
                await asyncio.wait_for(stream.ready, 30)
                streams.append(stream)
            except Exception:  # noqa: BLE001
                failed += 1
    return streams, failed


async def latency(args, hub: Hub, targets: list[tuple[str, str]], admin: Http) -> dict:
    from_send: list[float] = []
    from_response: list[float] = []
    missed = errors = 0
    interval = 1 / args.rate

    async def one(user_id: str, module_id: str) -> None:
        nonlocal missed, errors
        waiter = asyncio.get_running_loop().create_future()
        hub.waiting[user_id] = waiter
        conn = Http(args.host, args.port, args.admin_token)
        sent = time.monotonic()
        status, _, body = await conn.request(
            "POST", f"/v1/members/{user_id}/progress-overrides",
            {"module_id": module_id, "action": "COMPLETE", "reason": "Push benchmark"})
        answered = time.monotonic()
        if conn.writer:
            conn.writer.close()
        if status != 201:
            errors += 1
            hub.waiting.pop(user_id, None)
            if errors <= 3:
                print(f"  override answered {status}: {body[:200]!r}", file=sys.stderr)
            return
        try:
            at = await asyncio.wait_for(waiter, 10)
        except asyncio.TimeoutError:
            missed += 1
            hub.waiting.pop(user_id, None)
            return
        from_send.append((at - sent) * 1000)
        from_response.append((at - answered) * 1000)

    tasks = []
    started = time.monotonic()
    for i, (user_id, module_id) in enumerate(targets):
        delay = started + i * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(user_id, module_id)))
    await asyncio.gather(*tasks)

    def summary(values: list[float]) -> dict:
        return {"p50": percentile(values, 50), "p90": percentile(values, 90),
                "p99": percentile(values, 99), "max": max(values) if values else None}

    return {"samples": len(from_send), "missed": missed, "errors": errors,
            "rate_per_s": args.rate, "from_response_ms": summary(from_response),
            "from_send_ms": summary(from_send)}


async def fanout(args, hub: Hub, streams: list[Stream], owner: Http) -> dict:
    status, _, body = await owner.request("PATCH", "/v1/tenant", {"catalog_open": True})
    if status != 200:
        raise RuntimeError(f"opening the catalog answered {status}: {body[:200]!r}")
    status, _, body = await owner.request("POST", "/v1/modules", {"title": "Push benchmark announcement"})
    if status != 201:
        raise RuntimeError(f"creating the module answered {status}: {body[:200]!r}")
    module = json.loads(body)["id"]
    status, _, body = await owner.request(
        "POST", f"/v1/modules/{module}/sections",
        {"title": "What changed", "content_html": "<p>Read me</p>"})
    if status != 201:
        raise RuntimeError(f"creating the section answered {status}: {body[:200]!r}")
    status, headers, _ = await owner.request("GET", f"/v1/modules/{module}")
    hub.fanout_entity = module
    # The owner publishing it is not told; every other open stream is.
    expected = sum(1 for s in streams if s.token != owner.token)
    sent = time.monotonic()
    status, _, body = await owner.request(
        "POST", f"/v1/modules/{module}/status", {"status": "PUBLISHED"},
        {"If-Match": headers.get("etag", "*")})
    answered = time.monotonic()
    if status != 200:
        raise RuntimeError(f"publishing answered {status}: {body[:200]!r}")
    deadline = answered + args.fanout_timeout
    while len(hub.fanout_arrivals) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    times = [at - answered for at in hub.fanout_arrivals.values()]
    return {"recipients_with_streams": expected, "received": len(times),
            "publish_request_ms": round((answered - sent) * 1000, 1),
            "seconds_to_half": percentile(times, 50), "seconds_to_p99": percentile(times, 99),
            "seconds_to_all": max(times) if len(times) == expected and times else None}


async def main_async(args) -> dict:
    members = []
    with open(args.tokens, encoding="utf-8") as tokens:
        for line in tokens:
            user_id, token = line.rstrip("\n").split("\t")
            members.append((user_id, token))
    targets = []
    with open(args.targets, encoding="utf-8") as rows:
        for line in rows:
            user_id, module_id = line.rstrip("\n").split("\t")
            targets.append((user_id, module_id))
    target_users = {user_id for user_id, _ in targets}
    # Latency streams first: the members the overrides are for.
    first = [m for m in members if m[0] in target_users][:args.latency_streams]
    rest = [m for m in members if m[0] not in {u for u, _ in first}]
    hub = Hub()
    result: dict = {"rss_mib": {"idle_server": rss_mib(args.pid)}}

    t0 = time.monotonic()
    streams, failed = await open_streams(first, hub, args.host, args.port)
    result["latency_streams"] = {"open": len(streams), "failed": failed,
                                 "seconds_to_open": round(time.monotonic() - t0, 1)}
    print(f"  {len(streams)} streams open ({failed} failed)", file=sys.stderr)
    await asyncio.sleep(2)
    result["rss_mib"]["streams_latency"] = rss_mib(args.pid)
    open_targets = [t for t in targets if t[0] in {s.user_id for s in streams}][:args.samples]
    admin = Http(args.host, args.port, args.admin_token)
    result["latency"] = await latency(args, hub, open_targets, admin)
    lat = result["latency"]
    print(f"  push latency ({lat['samples']} samples, {lat['missed']} missed, {lat['errors']} errors): "
          f"p50 {lat['from_response_ms']['p50']:.1f} ms, p99 {lat['from_response_ms']['p99']:.1f} ms "
          f"after the write's response", file=sys.stderr)

    more = rest[:max(0, args.idle_streams - len(streams))]
    t0 = time.monotonic()
    extra, failed = await open_streams(more, hub, args.host, args.port)
    streams += extra
    result["idle_streams"] = {"open": len(streams), "failed": failed,
                              "seconds_to_open": round(time.monotonic() - t0, 1)}
    await asyncio.sleep(args.settle)
    result["rss_mib"]["streams_idle"] = rss_mib(args.pid)
    print(f"  {len(streams)} streams open ({failed} failed): server RSS "
          f"{result['rss_mib']['streams_idle']} MiB", file=sys.stderr)

    owner = Http(args.host, args.port, args.owner_token)
    result["fanout"] = await fanout(args, hub, streams, owner)
    f = result["fanout"]
    print(f"  fan-out to {f['recipients_with_streams']} open streams: {f['received']} received, "
          f"all by {f['seconds_to_all']} s", file=sys.stderr)
    result["rss_mib"]["after_fanout"] = rss_mib(args.pid)
    for stream in streams:
        if stream.task:
            stream.task.cancel()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's pid (for RSS)")
    parser.add_argument("--tokens", required=True, help="user_id<TAB>token per line")
    parser.add_argument("--targets", required=True, help="user_id<TAB>module_id to complete")
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--owner-token", required=True)
    parser.add_argument("--latency-streams", type=int, default=1000)
    parser.add_argument("--idle-streams", type=int, default=10000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0, help="overrides per second")
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--fanout-timeout", type=float, default=60.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(result, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
