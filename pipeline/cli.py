"""``logharbor pipeline``: run the processing pipeline (one process, or ``--workers N``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``pipeline`` subcommand (collected by ops/cli.py)."""
    p = subparsers.add_parser(
        "pipeline",
        help="consume logharbor.raw, parse/filter/enrich, index into OpenSearch",
        description="Run the LogHarbor pipeline: Kafka → parse, filter, redact, enrich → OpenSearch.",
    )
    p.add_argument(
        "--workers", type=_workers_arg, default=None,
        help="consumer processes in one group (default 1), or 'auto': follow consumer lag (docs/PIPELINE.md)",
    )
    p.add_argument("--min-workers", type=int, default=None, help="--workers auto: fewest workers (default 1)")
    p.add_argument("--max-workers", type=int, default=None, help="--workers auto: most workers (default 4)")
    p.add_argument("--rules", type=Path, default=None, help="rules YAML (hot-reloaded; default built-in)")
    p.add_argument("--port", type=int, default=None, help="port of /health, /ready, /metrics (default 8089)")
    p.add_argument("--check-rules", action="store_true", help="validate the rules file and exit")
    # `logharbor pipeline test-parse FILE`: try the format library on a sample (docs/PIPELINE.md).
    p.add_argument("action", nargs="?", choices=["test-parse"], help="test-parse FILE: show what each line parses as")
    p.add_argument("file", nargs="?", type=Path, help="sample log file for test-parse")
    p.add_argument("--formats", type=Path, default=None, help="test-parse: extra family YAML (file or directory)")
    p.add_argument("--multiline", default=None, help="test-parse: shipper multiline preset (postgres, java, ...)")
    p.add_argument("--format", dest="format_name", default=None, help="test-parse: try this family first")
    p.add_argument("--timezone", default="UTC", help="test-parse: zone for zone-less times")
    p.set_defaults(handler=handle)


def _workers_arg(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--workers must be a number ≥ 1 or 'auto', not {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"--workers must be ≥ 1, not {n}")
    return n


def _settings(args: argparse.Namespace) -> Any:
    from pipeline.settings import PipelineSettings

    overrides: dict[str, Any] = {}
    if args.rules is not None:
        overrides["rules_path"] = args.rules
    if args.port is not None:
        overrides["http_port"] = args.port
    if args.workers == "auto":
        overrides["autoscale"] = True
    elif args.workers is not None:
        overrides["workers"] = args.workers
    if args.min_workers is not None:
        overrides["min_workers"] = args.min_workers
    if args.max_workers is not None:
        overrides["max_workers"] = args.max_workers
    return PipelineSettings(**overrides)


def handle(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=os.environ.get("LOGHARBOR_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if getattr(args, "action", None) == "test-parse":
        from pipeline.parse.testparse import run

        if args.file is None:
            print("usage: logharbor pipeline test-parse FILE [--formats F] [--multiline PRESET]")
            return 2
        return run(args.file, args.formats, args.multiline, args.format_name, args.timezone)
    settings = _settings(args)
    if args.check_rules:
        from pipeline.rules import load_chain

        chain = load_chain(settings)
        print(f"rules OK: {len(chain.steps)} steps: {' → '.join(s.name for s in chain.steps)}")
        return 0
    if settings.autoscale:
        from pipeline.supervisor import run_workers

        if settings.max_workers < settings.min_workers:
            print(f"--max-workers ({settings.max_workers}) must be ≥ --min-workers ({settings.min_workers})")
            return 2
        return run_workers(settings, settings.min_workers)
    if settings.workers > 1:
        from pipeline.supervisor import run_workers

        return run_workers(settings, settings.workers)

    from pipeline.worker import run_pipeline

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_pipeline(settings, stop)

    asyncio.run(main())
    return 0
