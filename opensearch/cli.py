"""``logharbor indices bootstrap|status|lifecycle``."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import datetime

from croniter import croniter

from logharbor.config import StorageSettings

from . import indices_status, lifecycle
from .bootstrap import bootstrap
from .client import sync_client


def cmd_bootstrap(args: argparse.Namespace) -> int:
    client = sync_client()
    storage = StorageSettings()
    driver = "ISM" if lifecycle.use_ism(client, storage) else "LogHarbor lifecycle runner (no ISM plugin)"
    print(f"applying index templates and lifecycle policies ({driver}) ...")
    changes = bootstrap(client, storage)
    for change in changes:
        print(f"  {change}")
    changed = sum(c.outcome != "unchanged" for c in changes)
    print(f"{changed} changed, {len(changes) - changed} unchanged")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    streams = indices_status.collect(sync_client(), args.pattern)
    print(json.dumps(streams, indent=2) if args.json else indices_status.render(streams))
    return 0


def _print_report(report: lifecycle.RunReport) -> None:
    for index in report.rolled_over:
        print(f"  rolled over {index}")
    for index, old, new in report.transitions:
        print(f"  {index}: {old} -> {new}")
    for index in report.deleted:
        print(f"  deleted {index}")
    for index, err in report.errors:
        print(f"  ERROR {index}: {err}", file=sys.stderr)


def run_lifecycle_forever(stop: threading.Event, schedule: str, log=print) -> None:
    """The croniter loop used by ``indices lifecycle`` and ``logharbor run`` (no-op under ISM)."""
    client = sync_client()
    storage = StorageSettings()
    if lifecycle.use_ism(client, storage):
        log("lifecycle: ISM runs the policies in the cluster; LogHarbor's runner stays idle")
        return
    it = croniter(schedule, datetime.now())
    while not stop.is_set():
        wait = max(0.0, it.get_next(float) - time.time())
        if stop.wait(wait):
            return
        try:
            _print_report(lifecycle.run_once(client))
        except Exception as exc:  # keep the schedule alive through a cluster outage
            log(f"lifecycle: run failed ({type(exc).__name__}: {exc}); retrying on the next schedule")


def cmd_lifecycle(args: argparse.Namespace) -> int:
    if args.once:
        report = lifecycle.run_once(sync_client())
        _print_report(report)
        return 1 if report.errors else 0
    schedule = args.schedule or StorageSettings().lifecycle_schedule
    if not croniter.is_valid(schedule):
        print(f"logharbor: --schedule '{schedule}' is not a cron expression (e.g. '*/5 * * * *')", file=sys.stderr)
        return 2
    print(f"lifecycle runner on schedule '{schedule}' (Ctrl-C to stop)")
    stop = threading.Event()
    try:
        run_lifecycle_forever(stop, schedule)
    except KeyboardInterrupt:
        stop.set()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("indices", help="index templates, data streams and lifecycle")
    isub = p.add_subparsers(dest="indices_command", metavar="ACTION", required=True)
    b = isub.add_parser("bootstrap", help="apply templates and lifecycle policies (idempotent)")
    b.set_defaults(handler=cmd_bootstrap)
    s = isub.add_parser("status", help="data streams, backing indices, docs, size, lifecycle state")
    s.add_argument("--pattern", default="logs-*")
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=cmd_status)
    lc = isub.add_parser("lifecycle", help="run LogHarbor's lifecycle (when the cluster has no ISM)")
    lc.add_argument("--once", action="store_true", help="one pass, then exit")
    lc.add_argument("--schedule", help="cron expression (default storage.lifecycle_schedule)")
    lc.set_defaults(handler=cmd_lifecycle)
