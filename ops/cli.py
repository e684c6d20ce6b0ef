"""The ``logharbor`` command: one subcommand per role, registered by each component.

Each component owns ``<component>/cli.py`` with ``register(subparsers)``; this module only
collects them, so adding a role never edits another component's code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from logharbor import __version__
from logharbor.config import CONFIG_ENV, ConfigError

# Modules that contribute subcommands, in help order. A missing module is a packaging bug.
COMMAND_MODULES: tuple[str, ...] = (
    "ops.devstack.cli",
    "opensearch.cli",
    "opensearch.snapshots_cli",
    "gateway.cli",
    "pipeline.cli",
    "shipper.cli",
    "ui.cli",
    "ops.init_cli",
    "ops.run_cli",
    "alerting.cli",
    "ops.dashboards_export",
    "ops.chaos.cli",
)


# Which module registers each command, so `logharbor shipper` imports only the shipper's code
# (it runs on every application host and must stay small); help imports them all.
COMMAND_OWNERS: dict[str, str] = {
    "devstack": "ops.devstack.cli", "indices": "opensearch.cli", "snapshots": "opensearch.snapshots_cli",
    "gateway": "gateway.cli", "keys": "gateway.cli",
    "pipeline": "pipeline.cli", "shipper": "shipper.cli", "ui": "ui.cli", "init": "ops.init_cli", "run": "ops.run_cli",
    "alerts": "alerting.cli", "alerter": "alerting.cli",
}
COMMAND_OWNERS["dashboards"] = "ops.dashboards_export"
COMMAND_OWNERS["chaos"] = "ops.chaos.cli"


def _command_of(argv: Sequence[str]) -> str | None:
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--config":
            args = args[1:]
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logharbor",
        description="LogHarbor: self-hosted real-time log aggregation on Kafka and OpenSearch.",
    )
    parser.add_argument("--version", action="version", version=f"logharbor {__version__}")
    parser.add_argument("--config", help=f"YAML settings file (also {CONFIG_ENV})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [only] if only else COMMAND_MODULES
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(COMMAND_OWNERS.get(_command_of(argv) or ""))
    args = parser.parse_args(argv)
    if args.config:
        os.environ[CONFIG_ENV] = args.config
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except ConfigError as exc:
        print(f"logharbor: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
