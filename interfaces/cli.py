"""The `eschat` command line."""

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from infrastructure.settings import Settings, SettingsError

if TYPE_CHECKING:
    from interfaces.server import Container


def _settings(args: argparse.Namespace) -> Settings:
    from interfaces.server import settings_from_environment
    from interfaces.startup import check_database_url

    overrides = {f: getattr(args, f, None) for f in Settings.__struct_fields__}
    settings = settings_from_environment(**overrides)
    check_database_url(settings.database_url)
    return settings


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """Every ESCHAT_* variable is also a flag: ESCHAT_PING_INTERVAL_MS -> --ping-interval-ms."""
    for field in Settings.__struct_fields__:
        parser.add_argument("--" + field.replace("_", "-"), dest=field, default=None,
                            help=f"overrides ESCHAT_{field.upper()}")


def cmd_serve(args: argparse.Namespace) -> int:
    from interfaces.server import serve
    from interfaces.startup import preflight
    from interfaces.workers import check_workers, run_workers

    settings = _settings(args)
    check_workers(settings)  # refused before anything is touched
    preflight(settings)  # database reachable, port free: else one line and exit 2
    if settings.workers != 1:
        return run_workers(settings)  # refuses bad counts and SQLite first
    serve(settings)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from interfaces.server import bootstrap

    container = bootstrap(_settings(args))
    try:
        container.writer.start()
        asyncio.run(container.service.ensure_user(args.user))
        ttl = args.ttl if args.ttl is not None else container.settings.token_ttl_s
        print(container.tokens.issue(args.user, ttl))
    finally:
        container.close()
    return 0


def _print_status(container: "Container") -> None:
    from infrastructure.eventstore import head_position
    from infrastructure.rebuild import last_switch, rebuild_under_way

    head = head_position(container.store)
    positions = container.read_models.positions()
    print(f"{'projection':<12} {'position':>10} {'head':>10} {'lag':>8}")
    for name in sorted(positions):
        print(f"{name:<12} {positions[name]:>10} {head:>10} {head - positions[name]:>8}")
    state = rebuild_under_way(container.db)
    if state is not None:
        print(f"rebuild under way of {', '.join(state.projections)}: {state.position:,} of"
              f" {head:,} events ({100 * state.position / max(head, 1):.0f}%), started"
              f" {state.started_at}, last batch {state.updated_at}"
              " (`eschat projections rebuild` resumes it if it stopped)")
    switched = last_switch(container.db)
    if switched is not None:
        print(f"last rebuild: {switched[0].replace(',', ', ')} switched at position"
              f" {switched[1]:,} on {switched[2]}")


def _rebuild(container: "Container", args: argparse.Namespace) -> int:
    import signal
    import threading

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from infrastructure.advisory_locks import RebuildBusy
    from interfaces.server import tune_gc

    runner = container.runner
    known = [p.name for p in runner.projections]
    if args.name and args.name not in known:
        print(f"unknown projection {args.name!r}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    names = [args.name] if args.name else None
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()  # ends after the batch in flight; the next run resumes

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    columns = (TextColumn("rebuild"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]} events/s"), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    started = time.monotonic()
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("rebuild", total=None, rate="-")
        first: list[int] = []

        def progress(done: int, total: int) -> None:
            first.append(done) if not first else None
            rate = (done - first[0]) / max(time.monotonic() - started, 1e-3)
            bar.update(task, completed=done, total=total, rate=f"{rate:,.0f}")

        tune_gc()  # 17-19 % of a rebuild went to the collector at CPython's thresholds
        try:
            result = runner.rebuild(names, restart=args.restart, batch_size=args.batch_size,
                                    progress=progress, stop=stop)
        except RebuildBusy as busy:
            bar.stop()
            print(f"another rebuild is running on this store ({busy}); this one did not"
                  " start. Wait for it to switch, or stop it (Ctrl-C or SIGTERM: it resumes"
                  " with the next `eschat projections rebuild`).", file=sys.stderr)
            return 4
    seconds = time.monotonic() - started
    chosen = ", ".join(result.state.projections)
    if not result.switched:
        print(f"rebuild of {chosen} stopped at position {result.state.position:,}; the live"
              " read models still serve. Run `eschat projections rebuild` again to resume.")
        return 3
    print(f"rebuilt {chosen} from {result.state.position:,} events ({result.events:,} in this"
          f" run, {result.events / max(seconds, 1e-3):,.0f} events/s); switched to the new"
          f" read models at position {result.state.position:,} on {result.switched_at}")
    return 0


def cmd_projections(args: argparse.Namespace) -> int:
    from interfaces.server import bootstrap

    container = bootstrap(_settings(args))
    try:
        code = _rebuild(container, args) if args.action == "rebuild" else 0
        _print_status(container)
        return code
    finally:
        container.close()


def cmd_relay(args: argparse.Namespace) -> int:
    """Runs the Kafka relay alone until SIGTERM or SIGINT."""
    import signal
    import threading

    from infrastructure.advisory_locks import schema_lock
    from infrastructure.database_url import parse_database_url
    from infrastructure.eventstore import open_event_store
    from infrastructure.kafka import build_relay
    from infrastructure.readmodels.database import open_database

    settings = _settings(args)
    if not settings.kafka_bootstrap:
        print("eschat relay: set ESCHAT_KAFKA_BOOTSTRAP (or --kafka-bootstrap)", file=sys.stderr)
        return 2
    location = parse_database_url(settings.database_url)
    with schema_lock(location):  # relays (and nodes) starting together create tables
        store, db = open_event_store(location), open_database(location)
        relay = build_relay(settings, store, db, location)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    relay.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        relay.stop()
        db.close()
        store.close()
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    """`eschat users erase USER`: as DELETE /api/me, by an operator."""
    from domain.errors import InvalidInput, NotFound
    from interfaces.server import bootstrap

    container = bootstrap(_settings(args), relay=None)
    try:
        container.writer.start()
        container.runner.start()
        try:
            asyncio.run(container.service.erase_user(args.user))
        except (NotFound, InvalidInput) as e:
            print(f"eschat users erase: {e}", file=sys.stderr)
            return 1
        print(f"erased {args.user}: their key is destroyed; nodes refuse their tokens"
              " within 5 s")
    finally:
        container.close()
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    """`eschat retention sweep [--now ISO]`: erases messages older than their chat keeps."""
    from datetime import UTC, datetime

    from domain.times import parse_time
    from interfaces.server import bootstrap

    settings = _settings(args)
    try:
        now = parse_time(args.now) if args.now else datetime.now(UTC)
    except ValueError:
        print(f"eschat retention sweep: --now must be an ISO 8601 time, not {args.now!r}",
              file=sys.stderr)
        return 2
    container = bootstrap(settings, relay=None)
    try:
        container.writer.start()
        container.runner.start()
        erased = asyncio.run(container.service.sweep_retention(now, settings.retention_days))
        print(f"retention sweep at {now.isoformat()}: {erased} messages erased")
    finally:
        container.close()
    return 0


BENCHES = {
    "compare": "__main__.py",  # eschat and its peers side by side: `python -m bench`
    "group-commit": "group_commit.py",
    "latency": "gateway_latency.py",
    "broadcast": "protocol_bench.py",
    "relay": "relay_throughput.py",
    "history": "rest_history.py",
    "rebuild": "rebuild_speed.py",
    "cluster": "cluster_fanout.py",
    "fuzz": "hostile_fuzz.py",
    "login-flood": "login_flood.py",
    "aging": "aging.py",
    "receipt-storm": "receipt_storm.py",
    "message-aging": "message_aging.py",
    "as-of": "as_of.py",
    "insert-shapes": "insert_shapes.py",
}


def cmd_bench(args: argparse.Namespace) -> int:
    """Runs one of the scripts in bench/ (a source checkout's, not an installed wheel's)."""
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / BENCHES[args.name]
    if not script.exists():
        print(f"eschat bench: {script} not found (benches run from a source checkout)",
              file=sys.stderr)
        return 2
    if args.name == "compare":  # a package: run it as one, from the checkout
        return subprocess.call([sys.executable, "-m", "bench", *args.rest],
                               cwd=script.parent.parent)
    return subprocess.call([sys.executable, str(script), *args.rest])


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="eschat", description="event-sourced chat backend")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve Socket.IO and REST on one port")
    _add_setting_flags(serve)
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser("token", help="print a JWT for USER, creating the user if needed")
    token.add_argument("user")
    token.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    _add_setting_flags(token)
    token.set_defaults(func=cmd_token)

    projections = sub.add_parser("projections", help="read-model status and rebuild")
    psub = projections.add_subparsers(dest="action", required=True)
    status = psub.add_parser("status", help="position of each projection against the head")
    _add_setting_flags(status)
    rebuild = psub.add_parser("rebuild", help="build read models anew beside the live ones,"
                              " then switch to them (resumes a rebuild that stopped)")
    rebuild.add_argument("name", nargs="?", help="one projection (default: all)")
    rebuild.add_argument("--restart", action="store_true",
                         help="abandon a rebuild under way and start from the first event")
    rebuild.add_argument("--batch-size", type=int, default=None,
                         help="events per transaction (default 20000 on SQLite, 100000 on"
                         " PostgreSQL)")
    _add_setting_flags(rebuild)
    projections.set_defaults(func=cmd_projections)

    relay = sub.add_parser("relay", help="run the Kafka relay alone (ESCHAT_KAFKA_BOOTSTRAP)")
    _add_setting_flags(relay)
    relay.set_defaults(func=cmd_relay)

    users = sub.add_parser("users", help="user administration")
    usub = users.add_subparsers(dest="action", required=True)
    erase = usub.add_parser("erase", help="erase USER: destroy their key, null what they"
                            " wrote everywhere, refuse their tokens")
    erase.add_argument("user")
    _add_setting_flags(erase)
    users.set_defaults(func=cmd_users)

    retention = sub.add_parser("retention", help="message retention")
    rsub = retention.add_subparsers(dest="action", required=True)
    sweep = rsub.add_parser("sweep", help="erase messages older than their chat's"
                            " retentionDays (else ESCHAT_RETENTION_DAYS)")
    sweep.add_argument("--now", help="the sweep's time, ISO 8601 (default: now)")
    _add_setting_flags(sweep)
    retention.set_defaults(func=cmd_retention)

    bench = sub.add_parser("bench", help="run a benchmark from bench/ (see bench/*.py --help)")
    bench.add_argument("name", choices=sorted(BENCHES))
    bench.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for the script")
    bench.set_defaults(func=cmd_bench)

    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except SettingsError as e:
        print(f"eschat: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        from interfaces.startup import explain

        message = explain(e)
        if message is None:
            raise
        print(f"eschat: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
