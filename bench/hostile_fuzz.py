"""Hostile clients against a real `eschat serve` while a healthy pair chats.

    .venv/bin/python bench/hostile_fuzz.py --seconds 300 --clients 8 [--seed N]
        [--backend sqlite|postgres]

WebSocket and long-polling clients, with and without a token, send random and mutated
Engine.IO / Socket.IO packets: random bytes, bad packet types, bad namespaces and ack
ids, deeply nested JSON, huge numbers, bad attachment counts, oversized and cut-off
requests. Meanwhile alice sends to bob every 100 ms and times each ack. The run passes
when the server is alive and healthy at the end, the pair was never disconnected and
got every ack, every polling request was answered and none with a 5xx. The seed is
printed first: ``--seed`` replays the same choices (timing still differs).
The test suite runs it small (tests/e2e/test_hostile_fuzz.py).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import PG_URL, ServerProcess, reset_postgres, start_server  # noqa: E402

EIO = "/socket.io/?EIO=4&transport="
POLL_TIMEOUT_S = 15.0  # > pingInterval of the fuzzed server: every poll must end by then
PING_INTERVAL_MS = 2000


@dataclass
class Tally:
    frames: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    unanswered: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    acks: list[float] = field(default_factory=list)
    failed_acks: int = 0
    disconnects: int = 0
    received: int = 0


# --- hostile packets ----------------------------------------------------------------------


def deep(rng: random.Random, depth: int) -> str:
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}"), ("[1,", "]")])
    return opener * depth + "0" + closer * depth


def sio_packet(rng: random.Random) -> str:
    """One Socket.IO packet (text), hostile in one of many ways."""
    depth = rng.choice([40, 200, 1000, 5000, 50_000])
    number = "9" * rng.choice([20, 400, 5000])
    event = rng.choice(["send-message", "join-chat", "typing-start", "message-read", "ping",
                        "edit-message", "add-reaction", "nope", "connect", ""])
    choices = [
        lambda: "".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randrange(1, 64))),
        lambda: rng.choice("0123456789") + "".join(rng.choice("[]{}\",:-/0123456789ax")
                                                   for _ in range(rng.randrange(0, 40))),
        lambda: "2" + deep(rng, depth),
        lambda: f'2["{event}",' + deep(rng, depth) + "]",
        lambda: "0" + deep(rng, depth),
        lambda: "3" + str(rng.randrange(10**30)) + "[]",
        lambda: "2" + number + f'["{event}"]',
        lambda: "2" + str(rng.randrange(100))
        + f'["{event}",{{"chatId":{number},"content":1e999}}]',
        lambda: "0/" + "x" * rng.choice([10, 300, 70_000]) + ",{}",
        lambda: "2/" + "y" * rng.choice([5, 5000]) + ',["x"]',
        lambda: "0/nsp\x00,{}",
        lambda: "5" + rng.choice(["999999", "11", "1", "0", "", "-1", "99999999999"])
        + '-["x",{"_placeholder":true,"num":' + rng.choice(["0", "5", "-1", "1e9", '"a"']) + "}]",
        lambda: "6" + rng.choice(["1-", "2-"]) + '12[{"_placeholder":true,"num":0}]',
        lambda: "0" + rng.choice(['{"token":123}', "[]", '"x"', '{"token":"Bearer x.y.z"}',
                                  '{"token":null,"pid":5,"offset":[]}']),
        lambda: f'2["{event}",' + rng.choice(['"x"', "null", "[1,2]", '{"chatId":"../x"}',
                                              '{"chatId":null,"content":{}}', "1e309",
                                              '{"chatId":"' + "z" * 5000 + '"}']) + "]",
        lambda: "4" + rng.choice(['"x"', "{}", "1"]),
        lambda: "1" + rng.choice(["", "/x,", "[]"]),
    ]
    packet = rng.choice(choices)()
    if rng.random() < 0.2:  # mutate: flip, insert or drop characters
        chars = list(packet)
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(len(chars) + 1)
            op = rng.random()
            if op < 0.4 and chars:
                chars[min(at, len(chars) - 1)] = chr(rng.randrange(32, 127))
            elif op < 0.7:
                chars.insert(at, rng.choice("[]{}\",0-/\x1e"))
            elif chars:
                del chars[min(at, len(chars) - 1)]
        packet = "".join(chars)
    return packet


def eio_frame(rng: random.Random) -> str | bytes:
    """One Engine.IO frame: mostly a MESSAGE with a hostile Socket.IO packet."""
    roll = rng.random()
    if roll < 0.75:
        return "4" + sio_packet(rng)
    if roll < 0.85:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
    return rng.choice(["", "0", "2", "2probe", "3", "5", "6", "7", "9x", "1", "4",
                       "\x1e", "b", "bAAAA"])


def poll_body(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.05:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))  # not UTF-8
    if roll < 0.08:
        return b"4" + b"x" * 1_000_050  # over maxPayload: 413, session closed
    if roll < 0.15:
        return ("42" + "[" * 5000 + "]" * 5000).encode()  # the 5,000-deep body
    parts: list[str] = []
    for _ in range(rng.randrange(1, 6)):
        frame = eio_frame(rng)
        if isinstance(frame, bytes):
            parts.append("b" + base64.b64encode(frame).decode())
        else:
            parts.append(frame)
    return "\x1e".join(parts).encode("utf-8", "surrogatepass")


# --- clients ------------------------------------------------------------------------------


async def ws_client(base: str, token: str | None, rng: random.Random, deadline: float,
                    tally: Tally) -> None:
    url = base.replace("http", "ws", 1) + EIO + "websocket"
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.ws_connect(url, max_msg_size=0,
                                           timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
                    await asyncio.wait_for(ws.receive(), 5)  # OPEN
                    if token is not None:
                        await ws.send_str("40" + json.dumps({"token": token}))
                    for _ in range(rng.randrange(1, 30)):
                        if ws.closed or time.monotonic() >= deadline:
                            break
                        frame = eio_frame(rng)
                        if isinstance(frame, bytes):
                            await ws.send_bytes(frame)
                        else:
                            await ws.send_str(frame)
                        tally.frames += 1
                        if rng.random() < 0.3:
                            await asyncio.sleep(rng.random() * 0.01)
            except (aiohttp.ClientError, TimeoutError, ConnectionError) as e:
                tally.errors[f"ws {type(e).__name__}"] += 1
                await asyncio.sleep(0.05)


async def timed(tally: Tally, request: Any) -> int | None:
    tally.requests += 1
    try:
        async with asyncio.timeout(POLL_TIMEOUT_S):
            async with request as response:
                await response.read()
                tally.statuses[response.status] += 1
                return int(response.status)
    except TimeoutError:
        tally.unanswered += 1
    except (aiohttp.ClientError, ConnectionError) as e:
        tally.errors[f"http {type(e).__name__}"] += 1
    return None


async def polling_client(base: str, token: str | None, rng: random.Random, deadline: float,
                         tally: Tally) -> None:
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            roll = rng.random()
            if roll < 0.1:  # bad handshakes and methods
                query = rng.choice(["EIO=3&transport=polling", "EIO=4&transport=x",
                                    "EIO=4&transport=polling&sid=nope", "EIO=4",
                                    "EIO=4&transport=websocket"])
                method = rng.choice(["GET", "POST", "PUT", "DELETE"])
                await timed(tally, http.request(method, f"{base}/socket.io/?{query}",
                                                data=poll_body(rng)))
                continue
            sid = await handshake(http, base, tally)
            if sid is None:
                await asyncio.sleep(0.05)
                continue
            target = f"{base}{EIO}polling&sid={sid}"
            if token is not None:
                await timed(tally, http.post(target, data="40" + json.dumps({"token": token})))
            polls = [asyncio.create_task(timed(tally, http.get(target)))
                     for _ in range(rng.choice([0, 1, 1, 2]))]  # two at once: a 400
            for _ in range(rng.randrange(1, 8)):
                if time.monotonic() >= deadline:
                    break
                status = await timed(tally, http.post(target, data=poll_body(rng)))
                tally.frames += 1
                if status != 200:
                    break
            await asyncio.gather(*polls)


async def handshake(http: aiohttp.ClientSession, base: str, tally: Tally) -> str | None:
    tally.requests += 1
    try:
        async with asyncio.timeout(POLL_TIMEOUT_S):
            async with http.get(f"{base}{EIO}polling") as response:
                body = await response.text()
                tally.statuses[response.status] += 1
        return str(json.loads(body[1:])["sid"])
    except TimeoutError:
        tally.unanswered += 1
    except (aiohttp.ClientError, ConnectionError, ValueError, KeyError) as e:
        tally.errors[f"handshake {type(e).__name__}"] += 1
    return None


async def aborting_client(base: str, rng: random.Random, deadline: float,
                          tally: Tally) -> None:
    """Requests cut off mid-way: a pending poll, a half-sent body, a half-sent head."""
    host, port = base.removeprefix("http://").split(":")
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            sid = await handshake(http, base, tally)
            if sid is None:
                await asyncio.sleep(0.05)
                continue
            path = f"{EIO}polling&sid={sid}"
            kind = rng.choice(["poll", "body", "head", "upgrade"])
            if kind == "poll":
                head = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"
            elif kind == "body":
                head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n"
                        + "42" + "[" * rng.randrange(0, 3000))
            elif kind == "head":
                head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Len"
            else:
                head = (f"GET {EIO}websocket&sid={sid} HTTP/1.1\r\nHost: x\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n")
            try:
                reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(head.encode())
                await writer.drain()
                tally.frames += 1
                await asyncio.sleep(rng.random() * 0.05)
                writer.transport.abort()  # gone without a goodbye
            except (OSError, ConnectionError) as e:
                tally.errors[f"abort {type(e).__name__}"] += 1


async def healthy_pair(base: str, alice: str, bob: str, chat_id: str, deadline: float,
                       tally: Tally) -> None:
    """alice (WebSocket) sends to bob (default transports: polling, then upgrade)."""
    sender, receiver = socketio.AsyncClient(), socketio.AsyncClient()

    @sender.event
    async def disconnect(*_: Any) -> None:
        tally.disconnects += 1

    @receiver.on("disconnect")
    async def receiver_gone(*_: Any) -> None:
        tally.disconnects += 1

    @receiver.on("new-message")
    async def on_message(*_: Any) -> None:
        tally.received += 1

    await receiver.connect(base, auth={"token": bob, "recovery": False})
    await sender.connect(base, auth={"token": alice, "recovery": False},
                         transports=["websocket"])
    i = 0
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                ack = await sender.call("send-message", {"chatId": chat_id, "content": f"m{i}"},
                                        timeout=10)
                tally.acks.append(time.perf_counter() - started)
                if not ack.get("success"):
                    tally.failed_acks += 1
            except socketio.exceptions.TimeoutError:
                tally.failed_acks += 1
            i += 1
            if i % 50 == 0:  # bob only listens: client activity, or the idle timeout (60 s)
                await receiver.emit("ping")
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # the last deliveries
    finally:
        disconnects = tally.disconnects
        await sender.disconnect()
        await receiver.disconnect()
        tally.disconnects = disconnects  # our own goodbyes do not count


# --- the run ------------------------------------------------------------------------------


@dataclass
class Outcome:
    seed: int
    seconds: float
    tally: Tally
    alive: bool
    healthy: bool

    @property
    def five_xx(self) -> int:
        return sum(n for status, n in self.tally.statuses.items() if status >= 500)

    @property
    def passed(self) -> bool:
        t = self.tally
        return (self.alive and self.healthy and t.disconnects == 0 and t.failed_acks == 0
                and t.unanswered == 0 and self.five_xx == 0 and len(t.acks) > 0)

    def ack_ms(self, q: float) -> float:
        acks = sorted(self.tally.acks)
        return acks[min(len(acks) - 1, int(q * len(acks)))] * 1000 if acks else 0.0

    def report(self) -> str:
        t = self.tally
        return (f"seed={self.seed} seconds={self.seconds:.0f} frames/requests sent={t.frames}"
                f" http requests={t.requests} statuses={dict(sorted(t.statuses.items()))}"
                f" unanswered={t.unanswered} 5xx={self.five_xx} server alive={self.alive}"
                f" healthy={self.healthy} | healthy pair: acks={len(t.acks)}"
                f" failed={t.failed_acks} disconnects={t.disconnects} delivered={t.received}"
                f" ack p50={self.ack_ms(0.5):.1f} ms p99={self.ack_ms(0.99):.1f} ms"
                f" max={self.ack_ms(1):.1f} ms | client-side errors={dict(t.errors)}")


async def fuzz(server: ServerProcess, seconds: float, clients: int, seed: int) -> Outcome:
    base = server.url
    alice, bob, mallory = (server.token(u) for u in ("alice", "bob", "mallory"))
    chat_id = httpx.post(f"{base}/api/chats", json={"memberIds": ["bob"]},
                         headers={"Authorization": f"Bearer {alice}"}).json()["id"]
    httpx.post(f"{base}/api/chats", json={"memberIds": ["alice"]},
               headers={"Authorization": f"Bearer {mallory}"})
    tally = Tally()
    deadline = time.monotonic() + seconds
    master = random.Random(seed)
    tasks = [asyncio.create_task(healthy_pair(base, alice, bob, chat_id, deadline, tally))]
    for i in range(clients):
        rng = random.Random(master.getrandbits(64))
        token = mallory if i % 2 else None
        kind = i % 4
        if kind in (0, 1):
            tasks.append(asyncio.create_task(ws_client(base, token, rng, deadline, tally)))
        elif kind == 2:
            tasks.append(asyncio.create_task(polling_client(base, token, rng, deadline, tally)))
        else:
            tasks.append(asyncio.create_task(aborting_client(base, rng, deadline, tally)))
    if clients >= 4:  # the odd kinds get their token-holding twin
        tasks.append(asyncio.create_task(
            polling_client(base, mallory, random.Random(master.getrandbits(64)), deadline,
                           tally)))
    started = time.monotonic()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            tally.errors[f"client crashed: {result!r}"[:200]] += 1
    elapsed = time.monotonic() - started
    alive = server.proc.poll() is None
    healthy = False
    with contextlib.suppress(httpx.HTTPError):
        healthy = httpx.get(base + "/health", timeout=5).status_code == 200
    return Outcome(seed, elapsed, tally, alive, healthy)


def fuzz_settings() -> dict[str, str]:
    return {"ping_interval_ms": str(PING_INTERVAL_MS), "ping_timeout_ms": "5000"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"seed={seed} (replay with --seed {seed})", flush=True)
    data = Path(tempfile.mkdtemp(prefix="eschat-fuzz-"))
    if args.backend == "postgres":
        reset_postgres()
        url = PG_URL
    else:
        url = f"sqlite:///{data}/fuzz.db"
    server = start_server(data, url, **fuzz_settings())
    try:
        outcome = asyncio.run(fuzz(server, args.seconds, args.clients, seed))
    finally:
        code = server.stop()
    print(outcome.report())
    log = server.log()
    fatal = [line for line in log.splitlines()
             if "Fatal Python error" in line or "Uncaught Exception" in line
             or "Traceback" in line]
    print(f"server exit code {code}; log lines with tracebacks or fatal errors: {len(fatal)}"
          f" (log: {server.log_path})")
    print("PASS" if outcome.passed and not fatal else "FAIL")
    return 0 if outcome.passed and not fatal else 1


if __name__ == "__main__":
    sys.exit(main())
