"""Load generator process: raw Engine.IO v4 / Socket.IO v5 over WebSocket (picows,
callbacks, no per-frame coroutine), the same code for every server under test.

    python -m bench.loadgen < job.json

Protocol with the parent on stdin/stdout: reads one JSON job line, connects its
clients and prints `READY {"firstConnectNs", "lastConnectedNs"}`; then for each line
`GO {"startNs", "endNs", "warmupS", "window" | "ratePerSender", "lag", "timelineS"}`
(CLOCK_MONOTONIC, which all processes share) it runs, drains and prints one JSON
result line, until stdin closes. `bench/peers/node/loadgen.mjs` is the same on the
stock socket.io-client. In `idle` mode it
only holds its connections (answering pings) until stdin closes. A client whose spec
has `receipts` (`[[event, chatId, messageId], ...]`) sends them on GO, one in flight, each
after the ack of the one before (the receipt storm of issue 12).

A message's content is `<sender>|<send_ns>|padding`: a receiver finds the send
time without parsing the JSON, and skips its own messages for latency.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

# Latency histogram: bucket i holds [1.01**i, 1.01**(i+1)) microseconds (1% wide).
BUCKETS = 2400
LOG_STEP = math.log(1.01)
CONTENT_KEY = '"content":"'


@dataclass
class Stats:
    sent: int = 0
    acked: int = 0
    refused: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    acked_in_window: int = 0
    expected_deliveries: int = 0  # room size per acked message (the sender included)
    deliveries: int = 0
    deliveries_in_window: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    ack_histogram: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    window: tuple[int, int] = (0, 0)
    last_frame_ns: int = 0
    presence: int = 0  # user-online frames received
    start_ns: int = 0
    # lag: ack time of each message acked in the window, delivery times of every
    # message, keyed `<sender tag><send ns>`, in microseconds from start_ns
    lag: bool = False
    lag_acks: dict[str, int] = field(default_factory=dict)
    lag_deliveries: dict[str, list[int]] = field(default_factory=dict)
    timeline_ns: int = 0  # bins of the ack and delivery timelines (0: none)
    receipts_acked: int = 0
    receipts_refused: int = 0
    receipt_histogram: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    last_receipt_ack_ns: int = 0
    ack_timeline: list[int] = field(default_factory=list)
    delivery_timeline: list[int] = field(default_factory=list)

    def in_window(self, now: int) -> bool:
        return self.window[0] <= now < self.window[1]

    def bump(self, timeline: list[int], now: int) -> None:
        if self.timeline_ns and now >= self.start_ns:
            i = (now - self.start_ns) // self.timeline_ns
            timeline.extend([0] * (i + 1 - len(timeline)))
            timeline[i] += 1


def record(histogram: list[int], ns: int) -> None:
    us = max(ns / 1000, 1.0)
    histogram[min(BUCKETS - 1, int(math.log(us) / LOG_STEP))] += 1


class Client(WSListener):
    """One Socket.IO client; a sender when `chat_id` is set."""

    def __init__(self, gen: Generator, index: int, spec: dict[str, Any]) -> None:
        self.gen = gen
        self.stats = gen.stats
        self.tag = f"{gen.prefix}{index}|"
        self.auth = json.dumps(spec["auth"], separators=(",", ":"))
        self.chat_id: str | None = spec.get("chatId")
        self.room_size: int = spec.get("roomSize", 0)
        self.receipts: list[list[str]] = spec.get("receipts", [])
        self.next_receipt = 0
        self.transport: WSTransport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.ready_ns = 0
        self.next_ack = 0
        self.pending: dict[int, int] = {}
        self.next_allowed = 0
        self.stopped = False

    # -- frames ---------------------------------------------------------------
    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before connected"))
        self.gen.disconnected += 1

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return
        text = frame.get_payload_as_utf8_text()
        now = time.monotonic_ns()
        self.stats.last_frame_ns = now
        kind = text[:2]
        if kind == "42":
            if text.startswith('42["new-message"'):
                self.on_new_message(text, now)
            elif text.startswith('42["user-online"'):
                self.stats.presence += 1
            elif text.startswith('42["connected"') and not self.ready.done():
                self.ready_ns = now
                self.ready.set_result(None)
        elif kind == "43":
            self.on_ack(text, now)
        elif text == "2":
            transport.send(WSMsgType.TEXT, b"3")
        elif kind == "0{":
            transport.send(WSMsgType.TEXT, ("40" + self.auth).encode())
        elif kind == "44" and not self.ready.done():
            self.ready.set_exception(ConnectionError(f"refused: {text}"))

    def on_new_message(self, text: str, now: int) -> None:
        stats = self.stats
        stats.deliveries += 1
        stats.bump(stats.delivery_timeline, now)
        if stats.lag:
            start = text.find(CONTENT_KEY) + len(CONTENT_KEY)
            end = text.find("|", text.find("|", start) + 1)
            stats.lag_deliveries.setdefault(text[start:end], []).append(
                (now - stats.start_ns) // 1000)
        if stats.in_window(now):
            stats.deliveries_in_window += 1
            start = text.find(CONTENT_KEY) + len(CONTENT_KEY)
            bar = text.find("|", start)
            if text[start:bar + 1] != self.tag:  # latency only at another member
                end = text.find("|", bar + 1)
                record(stats.histogram, now - int(text[bar + 1:end]))

    def on_ack(self, text: str, now: int) -> None:
        bracket = text.index("[")
        sent_ns = self.pending.pop(int(text[2:bracket]), None)
        if sent_ns is None:
            return
        stats = self.stats
        if self.receipts:
            self.on_receipt_ack(text, now, sent_ns)
            return
        if '"success":true' in text:
            stats.acked += 1
            stats.expected_deliveries += self.room_size
            stats.bump(stats.ack_timeline, now)
            if stats.in_window(now):
                stats.acked_in_window += 1
                record(stats.ack_histogram, now - sent_ns)
                if stats.lag:
                    stats.lag_acks[f"{self.tag}{sent_ns}"] = (now - stats.start_ns) // 1000
        else:
            stats.refused += 1
            code = json.loads(text[bracket:])[0].get("code", "?")
            stats.refusals[code] = stats.refusals.get(code, 0) + 1
        if self.gen.window_size:  # closed loop: one ack frees one slot
            self.send_paced()

    def on_receipt_ack(self, text: str, now: int, sent_ns: int) -> None:
        stats = self.stats
        if '"success":true' in text:
            stats.receipts_acked += 1
            record(stats.receipt_histogram, now - sent_ns)
        else:
            stats.receipts_refused += 1
            code = json.loads(text[text.index("["):])[0].get("code", "?")
            stats.refusals[code] = stats.refusals.get(code, 0) + 1
        stats.last_receipt_ack_ns = max(stats.last_receipt_ack_ns, now)
        self.send_receipt()

    # -- sending --------------------------------------------------------------
    def send_receipt(self) -> None:
        if self.transport is None or self.next_receipt >= len(self.receipts):
            return
        event, chat_id, message_id = self.receipts[self.next_receipt]
        self.next_receipt += 1
        self.next_ack += 1
        self.pending[self.next_ack] = time.monotonic_ns()
        payload = json.dumps([event, {"chatId": chat_id, "messageId": message_id}],
                             separators=(",", ":"))
        self.transport.send(WSMsgType.TEXT, f"42{self.next_ack}{payload}".encode())

    def send(self) -> None:
        if self.stopped or self.transport is None:
            return
        now = time.monotonic_ns()
        if now >= self.gen.end_ns:
            self.stopped = True
            return
        self.next_ack += 1
        self.pending[self.next_ack] = now
        content = f"{self.tag}{now}|{self.gen.padding}"
        payload = json.dumps(["send-message", {"chatId": self.chat_id, "content": content,
                                               "clientMessageId": f"{self.tag}{self.next_ack}"}],
                             separators=(",", ":"))
        self.transport.send(WSMsgType.TEXT, f"42{self.next_ack}{payload}".encode())
        self.stats.sent += 1

    def send_paced(self) -> None:
        """Sends now, or as soon as the per-sender rate cap allows."""
        now = time.monotonic_ns()
        gap = self.gen.min_gap_ns
        if now >= self.next_allowed:
            self.next_allowed = now + gap
            self.send()
        else:
            at = self.next_allowed
            self.next_allowed += gap
            asyncio.get_running_loop().call_later((at - now) / 1e9, self.send)

    def schedule_fixed_rate(self, start_ns: int, interval_ns: int, phase: float) -> None:
        """Open loop: sends every `interval_ns`, whatever the acks do."""
        loop = asyncio.get_running_loop()
        origin = loop.time() - time.monotonic_ns() / 1e9  # monotonic_ns -> loop clock
        at = start_ns + int(phase * interval_ns)

        def tick() -> None:
            nonlocal at
            self.send()
            at += interval_ns
            if not self.stopped:
                loop.call_at(origin + at / 1e9, tick)

        loop.call_at(origin + at / 1e9, tick)


class Generator:
    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.stats = Stats()
        self.prefix = f"p{job.get('process', 0)}c"
        self.padding = "x" * max(0, int(job.get("contentSize", 0)) - 40)
        self.window_size = 0
        self.min_gap_ns = 0
        self.end_ns = 0
        self.disconnected = 0
        self.clients: list[Client] = []

    async def connect_all(self) -> dict[str, int]:
        url = self.job["url"]
        batch = int(self.job.get("connectBatch", 200))
        specs = self.job["clients"]
        first = time.monotonic_ns()
        for start in range(0, len(specs), batch):
            chunk = [Client(self, start + i, s) for i, s in enumerate(specs[start:start + batch])]

            await asyncio.gather(*(self.connect(c, url) for c in chunk))
            self.clients += chunk
        return {"firstConnectNs": first,
                "lastConnectedNs": max((c.ready_ns for c in self.clients), default=0)}

    @staticmethod
    async def connect(client: Client, url: str) -> None:
        await ws_connect(lambda: client, url, websocket_handshake_timeout=30)
        await asyncio.wait_for(client.ready, 60)

    async def run(self, params: dict[str, Any]) -> dict[str, Any]:
        start_ns, end_ns = int(params["startNs"]), int(params["endNs"])
        self.end_ns = end_ns
        self.window_size = int(params.get("window") or 0)
        rate_cap = float(params.get("maxRatePerSender") or 0)
        self.min_gap_ns = int(1e9 / rate_cap) if rate_cap else 0
        self.stats = Stats(start_ns=start_ns, lag=bool(params.get("lag")),
                           timeline_ns=int(float(params.get("timelineS") or 0) * 1e9))
        warmup = int(float(params.get("warmupS", 0)) * 1e9)
        self.stats.window = (start_ns + warmup, end_ns)
        for client in self.clients:
            client.stats, client.stopped, client.next_allowed = self.stats, False, 0
            client.pending.clear()
        senders = [c for c in self.clients if c.chat_id]
        receivers = [c for c in self.clients if c.receipts]
        rate = float(params.get("ratePerSender") or 0)
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, (start_ns - time.monotonic_ns()) / 1e9))
        cpu0, wall0 = time.process_time(), time.monotonic()
        for client in receivers:
            client.next_receipt = 0
            client.send_receipt()
        if rate:
            for i, client in enumerate(senders):
                client.schedule_fixed_rate(start_ns, int(1e9 / rate), i / max(1, len(senders)))
        else:
            for client in senders:
                for _ in range(self.window_size):
                    client.send_paced()
        if receivers:  # until every receipt is acked, or the end
            while time.monotonic_ns() < end_ns and any(
                    c.pending or c.next_receipt < len(c.receipts) for c in receivers):
                await asyncio.sleep(0.01)
        else:
            await asyncio.sleep(max(0.0, (end_ns - time.monotonic_ns()) / 1e9))
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        # Drain: every ack back, then no frame for a while (deliveries still in flight).
        deadline = loop.time() + float(params.get("drainS", 10))
        quiet = int(float(params.get("quietS", 1.0)) * 1e9)
        while loop.time() < deadline:
            outstanding = sum(len(c.pending) for c in senders + receivers)
            if not outstanding and time.monotonic_ns() - self.stats.last_frame_ns > quiet:
                break
            await asyncio.sleep(0.05)
        s = self.stats
        return {
            "clients": len(self.clients), "senders": len(senders), "sent": s.sent,
            "acked": s.acked, "refused": s.refused, "refusals": s.refusals,
            "unacked": sum(len(c.pending) for c in senders + receivers),
            "ackedInWindow": s.acked_in_window, "deliveries": s.deliveries,
            "deliveriesInWindow": s.deliveries_in_window,
            "expectedDeliveries": s.expected_deliveries,
            "windowS": (s.window[1] - s.window[0]) / 1e9,
            "histogram": sparse(s.histogram), "ackHistogram": sparse(s.ack_histogram),
            "cpuS": cpu, "wallS": wall, "disconnected": self.disconnected,
            "presence": s.presence, "ackTimeline": s.ack_timeline,
            "receiptsAcked": s.receipts_acked, "receiptsRefused": s.receipts_refused,
            "receiptHistogram": sparse(s.receipt_histogram),
            "lastReceiptAckNs": s.last_receipt_ack_ns,
            "deliveryTimeline": s.delivery_timeline,
            **({"lagAcks": s.lag_acks, "lagDeliveries": s.lag_deliveries} if s.lag else {}),
        }


def sparse(histogram: list[int]) -> dict[str, int]:
    return {str(i): n for i, n in enumerate(histogram) if n}


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def main() -> None:
    raise_nofile()
    loop = asyncio.get_running_loop()
    readline = sys.stdin.readline
    job = json.loads(await loop.run_in_executor(None, readline))
    gen = Generator(job)
    try:
        ready = await gen.connect_all()
    except Exception as e:
        print(f"FAILED {type(e).__name__}: {e}", flush=True)
        return
    print("READY " + json.dumps(ready), flush=True)
    while True:
        line = await loop.run_in_executor(None, readline)
        if not line or job.get("mode") == "idle":
            return
        if line.startswith("GO "):
            result = await gen.run(json.loads(line[3:]))
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if os.environ.get("BENCH_NO_UVLOOP"):
        asyncio.run(main())
    else:
        import uvloop

        uvloop.run(main())
