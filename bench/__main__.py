"""eschat against its peers, side by side, in one run on one machine:

    python -m bench [--tiny] [--servers a,b] [--scenarios a,b] [--json out.json] [sizes...]

(`eschat bench compare ...` is the same.) Each server under test is started as a
subprocess on a free port (pinned to the server's CPU set), the load
generators run as separate processes (pinned to the others), and a markdown
table goes to stdout (progress to stderr), the raw rows to --json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from bench import report, scenarios
from bench.servers import SERVERS, BenchError, Server, start

SCENARIOS = ("rooms", "fanout", "idle", "rebuild", "history")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/eschat_bench"


def csv(choices: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(choices)}")
        return names
    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", type=csv(SERVERS), default=list(SERVERS),
                   help=f"comma-separated, default all: {','.join(SERVERS)}")
    p.add_argument("--scenarios", type=csv(SCENARIOS), default=list(SCENARIOS),
                   help=f"comma-separated, default all: {','.join(SCENARIOS)}")
    p.add_argument("--tiny", action="store_true", help="every scenario at a tiny size (smoke)")
    p.add_argument("--pg-url", default=os.environ.get("ESCHAT_BENCH_PG_URL", DEFAULT_PG),
                   help="database for eschat-postgres and node-socketio-pg (its tables are "
                        "DROPPED); default $ESCHAT_BENCH_PG_URL or " + DEFAULT_PG)
    p.add_argument("--no-pin", action="store_true",
                   help="do not pin the server to CPU 0 and the load generators to the rest")
    p.add_argument("--json", type=Path, help="write the raw rows here")
    for f in dataclasses.fields(scenarios.Sizes):
        kind = {"int": int, "float": float}[str(f.type)]
        p.add_argument("--" + f.name.replace("_", "-"), type=kind, default=None,
                       help=f"default {f.default} ({getattr(scenarios.TINY, f.name)} with --tiny)")
    return p


def sizes_from(args: argparse.Namespace) -> scenarios.Sizes:
    base = scenarios.TINY if args.tiny else scenarios.Sizes()
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(base)
             if getattr(args, f.name) is not None}
    for name, value in given.items():
        if value <= 0 and name not in ("warmup",):
            raise BenchError(f"--{name.replace('_', '-')} must be positive")
    sizes = dataclasses.replace(base, **given)
    if sizes.warmup >= sizes.seconds:
        raise BenchError("--warmup must be shorter than --seconds")
    if sizes.fanout_senders > sizes.fanout_members:
        raise BenchError("--fanout-senders cannot exceed --fanout-members")
    return sizes


def pinning(no_pin: bool) -> tuple[set[int] | None, set[int] | None]:
    cores = sorted(os.sched_getaffinity(0))
    if no_pin or len(cores) < 2:
        return None, None
    return {cores[0]}, set(cores[1:])


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    sizes = sizes_from(args)
    server_cores, loadgen_cores = pinning(args.no_pin)
    n_loadgen = len(loadgen_cores or os.sched_getaffinity(0))
    log(f"sizes: {sizes}")
    log(f"pinning: server {server_cores or 'all'}, load generators {loadgen_cores or 'all'}")
    rows: list[dict[str, Any]] = []
    for name in args.servers:
        for scenario in args.scenarios:
            log(f"{name}: {scenario}")
            if scenario == "rebuild":
                rows.append(scenarios.rebuild_scenario(name, sizes, args.pg_url))
                continue
            server: Server = start(name, args.pg_url, server_cores)
            try:
                if scenario in ("rooms", "fanout"):
                    rows += scenarios.chat_scenario(server, sizes, scenario, loadgen_cores,
                                                    n_loadgen)
                elif scenario == "idle":
                    rows.append(scenarios.idle_scenario(server, sizes, loadgen_cores))
                else:
                    rows.append(scenarios.history_scenario(server, sizes, loadgen_cores))
            finally:
                server.stop()
            log(f"{name}: {scenario} done")
    return rows


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    return (f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        rows = run(args)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    print(f"## eschat bench ({'tiny' if args.tiny else 'full'} sizes) on {machine()}\n")
    print(report.markdown(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
