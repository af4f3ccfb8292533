#!/usr/bin/env python3
"""The chat scenario of `make bench`: sending to one room and delivery on the event streams.

Against a running server on the bench data set (its send limit raised), it:

  1. joins SUBSCRIBERS members to the tenant's room (`POST /v1/chat/rooms`) and opens their
     event streams, waiting for each `ready` frame;
  2. delivery: SAMPLES messages paced at RATE per second, from rotating senders; each
     subscriber's `chat.message_created` frame is timed from the moment the send's response
     arrived (its commit is inside the request); p50/p99 over every (message, subscriber);
  3. throughput: BURST messages sent as fast as CONNECTIONS keep-alive connections allow (every
     message is appended to every subscriber's stream in its transaction);
  4. history: fills the room to HISTORY messages in PostgreSQL (`--psql`), then reads pages of
     50 (`GET …/messages?before=…`) at random points, one request at a time, and the latest page.

Results go to --out as JSON; a summary goes to stderr. Standard library only.

  chat.py --port P --tokens FILE --psql "psql … -d guild_bench" --out FILE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time

from push import Http, Stream, open_streams, percentile


class ChatStream(Stream):
    """A stream that reports chat frames to its hub."""

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
        elif event == "chat.message_created":
            self.hub.arrived(self.user_id, now, json.loads(data) if data else {})


class ChatHub:
    """Arrival times per message id."""

    def __init__(self):
        self.arrivals: dict[str, list[float]] = {}

    def arrived(self, _user_id: str, at: float, message: dict) -> None:
        self.arrivals.setdefault(message.get("id", ""), []).append(at)


async def open_chat_streams(members, hub, host, port, parallel=100):
    import push

    original = push.Stream
    push.Stream = ChatStream
    try:
        return await open_streams(members, hub, host, port, parallel)
    finally:
        push.Stream = original


def summary(values: list[float]) -> dict:
    return {"p50": percentile(values, 50), "p90": percentile(values, 90),
            "p99": percentile(values, 99), "max": max(values) if values else None}


async def main_async(args) -> dict:
    members = []
    with open(args.tokens, encoding="utf-8") as tokens:
        for line in tokens:
            user_id, token = line.rstrip("\n").split("\t")
            members.append((user_id, token))
    owner = Http(args.host, args.port, members[0][1])
    status, _, body = await owner.request("POST", "/v1/chat/rooms", {"kind": "TENANT"})
    if status != 200:
        raise RuntimeError(f"opening the room answered {status}: {body[:200]!r}")
    room = json.loads(body)["id"]
    subscribers = members[2:2 + args.subscribers]
    senders = members[2 + args.subscribers:2 + args.subscribers + args.senders] or members[:1]

    # 1. Join and subscribe.
    t0 = time.monotonic()
    for start in range(0, len(subscribers), 50):
        async def join(token: str) -> None:
            conn = Http(args.host, args.port, token)
            code, _, text = await conn.request("POST", "/v1/chat/rooms", {"kind": "TENANT"})
            if conn.writer:
                conn.writer.close()
            if code != 200:
                raise RuntimeError(f"joining answered {code}: {text[:200]!r}")
        await asyncio.gather(*(join(t) for _, t in subscribers[start:start + 50]))
    hub = ChatHub()
    streams, failed = await open_chat_streams(subscribers, hub, args.host, args.port)
    result: dict = {"room": room, "subscribers": {"open": len(streams), "failed": failed,
                                                  "seconds_to_join_and_open": round(time.monotonic() - t0, 1)}}
    print(f"  {len(streams)} subscribers joined with open streams ({failed} failed)", file=sys.stderr)
    await asyncio.sleep(2)

    # 2. Delivery latency, paced.
    conns = [Http(args.host, args.port, token) for _, token in senders]
    deliveries: list[float] = []
    to_all: list[float] = []
    missed = errors = 0

    async def send_one(conn: Http, text: str) -> tuple[int, float, dict]:
        code, _, data = await conn.request("POST", f"/v1/chat/rooms/{room}/messages", {"body": text})
        return code, time.monotonic(), (json.loads(data) if code == 201 else {})

    async def sample(i: int) -> None:
        nonlocal missed, errors
        code, answered, message = await send_one(Http(args.host, args.port, senders[i % len(senders)][1]),
                                                 f"delivery sample {i}")
        if code != 201:
            errors += 1
            return
        deadline = answered + 10
        while len(hub.arrivals.get(message["id"], [])) < len(streams) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        got = hub.arrivals.get(message["id"], [])
        missed += len(streams) - len(got)
        deliveries.extend((at - answered) * 1000 for at in got)
        if len(got) == len(streams):
            to_all.append((max(got) - answered) * 1000)

    tasks = []
    started = time.monotonic()
    for i in range(args.samples):
        delay = started + i / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(sample(i)))
    await asyncio.gather(*tasks)
    result["delivery"] = {"samples": args.samples, "rate_per_s": args.rate, "errors": errors,
                          "missed_deliveries": missed, "from_response_ms": summary(deliveries),
                          "to_every_subscriber_ms": summary(to_all)}
    d = result["delivery"]["from_response_ms"]
    print(f"  delivery to {len(streams)} subscribers: p50 {d['p50']:.1f} ms, p99 {d['p99']:.1f} ms "
          f"({missed} missed, {errors} errors)", file=sys.stderr)

    # 3. Throughput.
    per_conn = args.burst // len(conns)
    latencies: list[float] = []
    burst_errors = 0

    async def burst(conn: Http) -> None:
        nonlocal burst_errors
        for i in range(per_conn):
            sent = time.monotonic()
            code, answered, _ = await send_one(conn, f"burst {i}")
            if code != 201:
                burst_errors += 1
            latencies.append((answered - sent) * 1000)

    t0 = time.monotonic()
    await asyncio.gather(*(burst(c) for c in conns))
    seconds = time.monotonic() - t0
    sent_total = per_conn * len(conns)
    await asyncio.sleep(2)
    result["throughput"] = {"messages": sent_total, "connections": len(conns), "errors": burst_errors,
                            "seconds": round(seconds, 2),
                            "messages_per_s": round(sent_total / seconds, 1) if seconds else None,
                            "send_ms": summary(latencies)}
    print(f"  throughput: {result['throughput']['messages_per_s']} messages/s with {len(conns)} "
          f"connections to a room of {len(streams)} subscribers ({burst_errors} errors)", file=sys.stderr)
    for stream in streams:
        if stream.task:
            stream.task.cancel()

    # 4. History with HISTORY messages in the room.
    fill = f"""
      WITH r AS (SELECT tenant_id, id, last_seq FROM chat_rooms WHERE id = '{room}')
      INSERT INTO chat_messages (tenant_id, id, room_id, seq, kind, author_id, body, created_at)
      SELECT r.tenant_id, gen_random_uuid(), r.id, r.last_seq + i, 'MESSAGE', '{members[0][0]}',
             'history message ' || i || ' about forklifts and safety', now()
      FROM r, generate_series(1, greatest(0, {args.history} - r.last_seq)) AS i;
      UPDATE chat_rooms SET last_seq = (SELECT max(seq) FROM chat_messages WHERE room_id = '{room}')
       WHERE id = '{room}';
      ANALYZE chat_messages;
      SELECT id FROM chat_messages WHERE room_id = '{room}' ORDER BY random() LIMIT {args.pages};
    """
    t0 = time.monotonic()
    out = subprocess.run(f"{args.psql} -qtA", shell=True, input=fill, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"filling the room failed: {out.stderr[:500]}")
    cursors = [line.strip() for line in out.stdout.splitlines() if len(line.strip()) == 36]
    print(f"  room filled to {args.history} messages in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    reader = Http(args.host, args.port, members[0][1])
    pages: list[float] = []
    latest: list[float] = []
    page_errors = 0
    random.shuffle(cursors)
    for cursor in cursors:
        t = time.monotonic()
        code, _, _ = await reader.request("GET", f"/v1/chat/rooms/{room}/messages?limit=50&before={cursor}")
        pages.append((time.monotonic() - t) * 1000)
        page_errors += code != 200
    for _ in range(min(200, len(cursors))):
        t = time.monotonic()
        code, _, _ = await reader.request("GET", f"/v1/chat/rooms/{room}/messages?limit=50")
        latest.append((time.monotonic() - t) * 1000)
        page_errors += code != 200
    result["history"] = {"messages_in_room": args.history, "pages": len(pages), "errors": page_errors,
                         "before_cursor_ms": summary(pages), "latest_ms": summary(latest)}
    h = result["history"]["before_cursor_ms"]
    print(f"  history pages of 50 in a room of {args.history}: p50 {h['p50']:.2f} ms, "
          f"p99 {h['p99']:.2f} ms ({page_errors} errors)", file=sys.stderr)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", required=True, help="user_id<TAB>token per line")
    parser.add_argument("--psql", required=True, help="a psql command line for the bench database")
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="paced messages per second")
    parser.add_argument("--burst", type=int, default=800)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(result, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
