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
    p.add_argument("--workers", type=int, default=None, help="consumer processes in one group (default 1)")
    p.add_argument("--rules", type=Path, default=None, help="rules YAML (hot-reloaded; default built-in)")
    p.add_argument("--port", type=int, default=None, help="port of /health, /ready, /metrics (default 8089)")
    p.add_argument("--check-rules", action="store_true", help="validate the rules file and exit")
    p.set_defaults(handler=handle)


def _settings(args: argparse.Namespace) -> Any:
    from pipeline.settings import PipelineSettings

    overrides: dict[str, Any] = {}
    if args.rules is not None:
        overrides["rules_path"] = args.rules
    if args.port is not None:
        overrides["http_port"] = args.port
    if args.workers is not None:
        overrides["workers"] = args.workers
    return PipelineSettings(**overrides)


def handle(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=os.environ.get("LOGHARBOR_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = _settings(args)
    if args.check_rules:
        from pipeline.rules import load_chain

        chain = load_chain(settings)
        print(f"rules OK: {len(chain.steps)} steps: {' → '.join(s.name for s in chain.steps)}")
        return 0
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
