"""Projection rebuild speed: seeds N stored events, then times
`eschat projections rebuild` over them.

    python bench/rebuild_speed.py --events N --database-url URL

The last stdout line is one JSON object {"events", "seconds", "events_per_s"}
(`python -m bench` reads it). The store at URL should be empty: PostgreSQL
tables are not dropped here. (A minimal version; seeding goes through
ChatService and the group-commit writer in batches of concurrent sends.)
"""

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infrastructure.eventstore import head_position  # noqa: E402
from infrastructure.settings import load_settings  # noqa: E402
from interfaces.server import build_container  # noqa: E402

SECRET = "rebuild-" + "x" * 32
BATCH = 5000


def seed(database_url: str, data_dir: str, events: int) -> int:
    settings = load_settings({}, database_url=database_url, data_dir=data_dir,
                             jwt_secret=SECRET, node_id="rebuild-seeder")
    container = build_container(settings)
    container.writer.start()
    service = container.service

    async def run() -> None:
        await service.ensure_user("alice")
        await service.ensure_user("bob")
        chat = await service.create_chat("alice", "rebuild", ["bob"])
        while (head := head_position(container.store)) < events:
            n = min(BATCH, events - head)
            await asyncio.gather(*(service.send_message("alice", chat.id, f"m{head + i}",
                                                        wait=False) for i in range(n)))

    try:
        asyncio.run(run())
        return head_position(container.store)
    finally:
        container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="eschat-rebuild-")
    stored = seed(args.database_url, data_dir, args.events)
    print(f"seeded {stored} events", file=sys.stderr, flush=True)
    env = {**os.environ, "ESCHAT_DATABASE_URL": args.database_url, "ESCHAT_JWT_SECRET": SECRET,
           "ESCHAT_DATA_DIR": data_dir, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "interfaces.cli", "projections", "rebuild"],
                         env=env, cwd=data_dir, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    match = re.search(r"from (\d+) events", out.stdout)
    events = int(match.group(1)) if match else stored
    print(json.dumps({"events": events, "seconds": round(seconds, 3),
                      "events_per_s": round(events / seconds, 1)}))


if __name__ == "__main__":
    main()
