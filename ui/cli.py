"""``logharbor ui``: serve the query API, live tail and (when installed) the web pages."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import Any

from ui.settings import UISettings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("ui", help="query REST API, live tail and web UI (aiohttp)")
    parser.add_argument("--host", help="listen address (ui.host, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (ui.port, default 8080)")
    parser.add_argument("--log-level", default="INFO")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = UISettings(**overrides)

    async def main() -> None:
        from ui.app import run_ui

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await run_ui(settings, stop)

    asyncio.run(main())
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m ui.cli [--port N]``: the ui role alone, without loading the other roles' CLIs."""
    import sys

    parser = argparse.ArgumentParser(prog="logharbor-ui")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["ui", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
