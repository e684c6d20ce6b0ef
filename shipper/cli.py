"""``logharbor shipper --config shipper.yaml [--status]``.

The subcommand's own ``--config`` is stored as ``shipper_config`` so it never clashes with the
top-level ``logharbor --config`` (the central settings file); either may name the shipper file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

import orjson


def register(subparsers: Any) -> None:
    """Add the ``shipper`` subcommand to the ``logharbor`` parser."""
    p = subparsers.add_parser(
        "shipper",
        help="run the log shipper agent on this host",
        description="Tail files and listen for logs, batch them and send them to the LogHarbor gateway.",
    )
    p.add_argument("--config", dest="shipper_config", metavar="FILE",
                   help="shipper YAML file (default: the top-level --config / LOGHARBOR_CONFIG)")
    p.add_argument("--status", action="store_true",
                   help="print positions, lag, spool and last error of the running shipper, then exit")
    p.set_defaults(handler=main)


def _config_path(args: argparse.Namespace) -> str:
    path = getattr(args, "shipper_config", None) or getattr(args, "config", None) or os.environ.get(
        "LOGHARBOR_CONFIG")  # logharbor.config.CONFIG_ENV, not imported: see shipper.config.config_error
    if not path:
        from shipper.config import config_error

        raise config_error("no shipper config: pass `logharbor shipper --config shipper.yaml`")
    return path


def main(args: argparse.Namespace) -> int:
    """Entry point for the subcommand; returns the exit code."""
    from shipper.config import load_config

    cfg = load_config(_config_path(args))
    if args.status:
        return print_status(cfg.data_dir / "status.json")
    from shipper.agent import Shipper
    from shipper.logjson import setup_logging

    setup_logging(cfg.log_level)

    async def _run() -> int:
        return await Shipper(cfg).run()

    return asyncio.run(_run())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def print_status(path: Any, out: Any = None) -> int:
    """Print the status file. Exit 0 if the shipper is running, 3 if not (like ``systemctl status``)."""
    out = out or sys.stdout
    try:
        st = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        print(f"shipper: no status file at {path} (never started with this data_dir?)", file=out)
        return 3
    age = time.time() - st.get("updated_at", 0)
    running = _alive(int(st.get("pid", 0))) and age < 30
    state = "running" if running else "NOT running"
    print(f"shipper {state} (pid {st.get('pid')}, status {age:.0f}s old, host {st.get('host')})", file=out)
    gw = st.get("gateway", {})
    print(f"gateway: {gw.get('active_url')} {'up' if gw.get('up') else 'DOWN'}"
          f"; last error: {gw.get('last_error') or '-'}", file=out)
    sp = st.get("spool", {})
    print(f"spool: {sp.get('batches', 0)} batches, {_human(sp.get('bytes', 0))} of "
          f"{_human(sp.get('max_bytes', 0))}{' FULL' if sp.get('full') else ''}; "
          f"rejected batches: {st.get('rejected_batches', 0)}", file=out)
    for name, src in st.get("sources", {}).items():
        lag = src.get("lag_bytes")
        print(f"source {name} ({src.get('type')}){f' lag {_human(lag)}' if lag is not None else ''}"
              f"{'; last error: ' + src['last_error'] if src.get('last_error') else ''}", file=out)
        for f in src.get("files", []):
            print(f"  {f['path']}: offset {f['offset']} of {f['size']} (lag {_human(f['lag_bytes'])})"
                  f"{' [rotated]' if f.get('rotated') else ''}", file=out)
        for key in ("cursor", "received", "dropped", "connections"):
            if key in src:
                print(f"  {key}: {src[key]}", file=out)
    return 0 if running else 3
