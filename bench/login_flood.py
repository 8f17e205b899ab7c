"""A login flood against a real `eschat serve` while another pair chats.

    .venv/bin/python bench/login_flood.py [--clients 16] [--seconds 20] [--backend sqlite|postgres]

Three phases of ``--seconds`` each, the pair (alice -> bob, python-socketio over
WebSocket, 10 messages/s) chatting throughout: quiet; ``--clients`` clients guessing one
account's password as fast as they get answers; the same number registering new
accounts (a password hash each, which no login limit stops). Printed per phase: the
answers by status, and the pair's send -> new-message and send -> ack latency.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import PG_URL, reset_postgres, start_server  # noqa: E402

RATE = 10.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


async def pair(url: str, alice: str, bob: str, chat_id: str, seconds: float,
               tag: str) -> tuple[list[float], list[float], int]:
    sender, receiver = socketio.AsyncClient(), socketio.AsyncClient()
    sent: dict[str, float] = {}
    delivered: list[float] = []
    acks: list[float] = []
    failures = 0

    @receiver.on("new-message")
    async def on_message(message: dict[str, Any]) -> None:
        started = sent.get(message.get("content", ""))
        if started is not None:
            delivered.append(time.perf_counter() - started)

    await receiver.connect(url, auth={"token": bob, "recovery": False}, transports=["websocket"])
    await sender.connect(url, auth={"token": alice, "recovery": False}, transports=["websocket"])
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        key = f"{tag}-{i}"
        sent[key] = started = time.perf_counter()
        ack = await sender.call("send-message", {"chatId": chat_id, "content": key}, timeout=10)
        acks.append(time.perf_counter() - started)
        failures += 0 if ack.get("success") else 1
        i += 1
        await asyncio.sleep(max(0.0, 1 / RATE - (time.perf_counter() - started)))
    await asyncio.sleep(0.5)
    await sender.disconnect()
    await receiver.disconnect()
    return delivered, acks, failures


async def flood(url: str, kind: str, clients: int, seconds: float) -> Counter[int | str]:
    answers: Counter[int | str] = Counter()
    deadline = time.monotonic() + seconds

    async def one(n: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            i = 0
            while time.monotonic() < deadline:
                i += 1
                try:
                    if kind == "login":
                        r = await http.post("/api/auth/login", json={
                            "username": "victim", "password": f"guess-{n}-{i}"})
                    else:
                        r = await http.post("/api/auth/register", json={
                            "username": f"new-{n}-{i}-{time.monotonic_ns()}",
                            "password": "password-" + str(i)})
                    answers[r.status_code] += 1
                except httpx.HTTPError as e:
                    answers[type(e).__name__] += 1

    await asyncio.gather(*(one(n) for n in range(clients)))
    return answers


async def run(url: str, alice: str, bob: str, chat_id: str, clients: int,
              seconds: float) -> None:
    for phase in ("quiet", "login", "register"):
        chat = asyncio.create_task(pair(url, alice, bob, chat_id, seconds, phase))
        answers: Counter[int | str] = Counter()
        if phase != "quiet":
            answers = await flood(url, phase, clients, seconds)
        delivered, acks, failures = await chat
        by_status = dict(sorted(answers.items(), key=str))
        flood_text = "" if phase == "quiet" else (
            f"{clients} clients, {sum(answers.values())} answers {by_status}; ")
        print(f"{phase:>8}: {flood_text}pair: {len(acks)} sent, {failures} refused, "
              f"send->new-message p50 {pct(delivered, 0.5):.1f} ms p99 {pct(delivered, 0.99):.1f}"
              f" ms; ack p50 {pct(acks, 0.5):.1f} ms p99 {pct(acks, 0.99):.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="eschat-login-"))
    if args.backend == "postgres":
        reset_postgres()
        url = PG_URL
    else:
        url = f"sqlite:///{data}/bench.db"
    server = start_server(data, url)
    try:
        alice, bob = server.token("alice"), server.token("bob")
        httpx.post(f"{server.url}/api/auth/register",
                   json={"username": "victim", "password": "the right one"}, timeout=30)
        chat = httpx.post(f"{server.url}/api/chats", json={"memberIds": ["bob"]},
                          headers={"Authorization": f"Bearer {alice}"}).json()["id"]
        print(f"backend={args.backend}", flush=True)
        asyncio.run(run(server.url, alice, bob, chat, args.clients, args.seconds))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
