"""Events per second saved with the group-commit writer versus one save per
command, on SQLite and PostgreSQL.

    .venv/bin/python bench/group_commit.py [--sends 5000] [--concurrency 200]

PostgreSQL: postgresql://postgres@127.0.0.1:5432/test (its eschat tables are dropped).
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infrastructure.settings import load_settings  # noqa: E402
from interfaces.server import Container, bootstrap  # noqa: E402
from tests.conftest import PG_URL, reset_postgres  # noqa: E402


def container_for(url: str, data_dir: str, max_batch: int) -> Container:
    settings = load_settings({}, database_url=url, data_dir=data_dir,
                             jwt_secret="bench-" + "x" * 32, node_id="bench")
    container = bootstrap(settings)
    container.writer._max_batch = max_batch  # 1 = one save (transaction) per command
    container.start()
    return container


async def run(url: str, sends: int, concurrency: int, max_batch: int) -> float:
    data_dir = tempfile.mkdtemp()
    if url.startswith("postgresql"):
        reset_postgres(url)
    else:
        url = f"sqlite:///{data_dir}/bench.db"
    container = container_for(url, data_dir, max_batch)
    s = container.service
    await s.ensure_user("a")
    await s.ensure_user("b")
    chat = await s.create_chat("a", "bench", ["b"])
    semaphore = asyncio.Semaphore(concurrency)

    async def send(i: int) -> None:
        async with semaphore:
            await s.send_message("a", chat.id, f"message {i}", wait=False)

    started = time.perf_counter()
    await asyncio.gather(*(send(i) for i in range(sends)))
    elapsed = time.perf_counter() - started
    container.close()
    return sends / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    print(f"{args.sends} sends, {args.concurrency} concurrent senders")
    print(f"{'backend':<10} {'mode':<22} {'events/s':>10}")
    for backend, url in (("sqlite", "sqlite"), ("postgres", PG_URL)):
        for mode, batch in (("one save per command", 1), ("group commit", 200)):
            rate = asyncio.run(run(url, args.sends, args.concurrency, batch))
            print(f"{backend:<10} {mode:<22} {rate:>10.0f}")


if __name__ == "__main__":
    main()
