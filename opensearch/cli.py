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
    for out in report.outcomes:
        if out.action != "deleted":
            print(f"  {out.action} {out.index}: {out.detail}")
    for index, err in report.errors:
        print(f"  ERROR {index}: {err}", file=sys.stderr)


def _start_companions(stop: threading.Event, log=print) -> None:
    """The disk monitor and the snapshot scheduler, each in its own thread and each leased, so
    any number of ``logharbor run`` processes act as one."""
    from . import disk_monitor
    from .lifecycle_settings import LifecycleSettings
    from .snapshot_schedule import SnapshotScheduler
    from .snapshots import repository_exists

    settings = LifecycleSettings()
    threading.Thread(target=disk_monitor.run_forever, args=(sync_client(), stop, settings),
                     name="disk-monitor", daemon=True).start()
    client = sync_client()
    try:
        has_repo = repository_exists(client, settings.snapshot_repository)
    except Exception:
        has_repo = False
    if not has_repo:
        log(f"snapshots: repository '{settings.snapshot_repository}' not registered; scheduled snapshots off "
            f"(expired indices are closed for lifecycle.grace_period before deletion)")
        return
    sched = SnapshotScheduler(client, settings)
    threading.Thread(target=sched.run_forever, args=(stop,), name="snapshot-scheduler", daemon=True).start()


def run_lifecycle_forever(stop: threading.Event, schedule: str, log=print) -> None:
    """The croniter loop used by ``indices lifecycle`` and ``logharbor run``: one holder of the
    ``lifecycle-runner`` lease runs each pass (under ISM only the LogHarbor-side duties run)."""
    from .lease import Lease

    client = sync_client()
    storage = StorageSettings()
    _start_companions(stop, log)
    ism = lifecycle.use_ism(client, storage)
    if ism:
        log("lifecycle: ISM rolls over and moves tiers; LogHarbor deletes (safe deletion), snapshots, disk")
    lease = Lease(client, "lifecycle-runner", ttl_s=600)
    it = croniter(schedule, datetime.now())
    while not stop.is_set():
        wait = max(0.0, it.get_next(float) - time.time())
        if stop.wait(wait):
            break
        try:
            if lease.acquire():
                if ism:
                    from .lifecycle_ism import sweep

                    _print_report(sweep(client))
                else:
                    _print_report(lifecycle.run_once(client))
        except Exception as exc:  # keep the schedule alive through a cluster outage
            log(f"lifecycle: run failed ({type(exc).__name__}: {exc}); retrying on the next schedule")
    lease.release()


def cmd_lifecycle(args: argparse.Namespace) -> int:
    if args.dry_run:
        from . import lifecycle_plan

        now = time.time() + (lifecycle.age_seconds(args.at) if args.at else 0)
        rows = lifecycle_plan.plan(sync_client(), now=now, pattern=args.pattern)
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            schedule = args.schedule or StorageSettings().lifecycle_schedule
            nxt = croniter(schedule, datetime.now()).get_next(datetime)
            print(f"dry run: nothing is changed. Next scheduled run: {nxt.isoformat(timespec='minutes')} "
                  f"('{schedule}'); due actions happen then.")
            print(lifecycle_plan.render(rows, now))
        return 0
    if args.once:
        client = sync_client()
        if lifecycle.use_ism(client, StorageSettings()):
            from .lifecycle_ism import sweep

            report = sweep(client)
        else:
            report = lifecycle.run_once(client)
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
    lc.add_argument("--dry-run", action="store_true", help="print each index's next action and when; change nothing")
    lc.add_argument("--at", help="with --dry-run: pretend it is this much later (e.g. 30d)")
    lc.add_argument("--json", action="store_true", help="with --dry-run: JSON rows")
    lc.add_argument("--pattern", default="logs-*", help="with --dry-run: data streams to show")
    lc.set_defaults(handler=cmd_lifecycle)
    h = isub.add_parser("hold", help="legal hold on a data stream: nothing deletes it while set")
    h.add_argument("action", choices=("set", "clear", "list"))
    h.add_argument("data_stream", nargs="?")
    h.add_argument("--reason", default="legal hold")
    h.set_defaults(handler=cmd_hold)
    d = isub.add_parser("disk", help="disk usage per node against the watermarks; --protect runs emergency retention")
    d.add_argument("--protect", action="store_true")
    d.add_argument("--json", action="store_true")
    d.set_defaults(handler=cmd_disk)


def cmd_hold(args: argparse.Namespace) -> int:
    from . import safe_delete

    client = sync_client()
    if args.action == "list":
        print(json.dumps(safe_delete.holds(client), indent=2))
        return 0
    if not args.data_stream:
        print("logharbor: hold set|clear needs a data stream name", file=sys.stderr)
        return 2
    if args.action == "set":
        safe_delete.set_hold(client, args.data_stream, reason=args.reason, actor="cli")
        print(f"legal hold set on {args.data_stream}")
    else:
        done = safe_delete.clear_hold(client, args.data_stream, actor="cli")
        print(f"legal hold {'cleared' if done else 'was not set'} on {args.data_stream}")
    return 0


def cmd_disk(args: argparse.Namespace) -> int:
    from . import disk_monitor

    client = sync_client()
    if args.protect:
        res = disk_monitor.protect(client)
        print(json.dumps(res, indent=2, default=str))
        return 0
    health = disk_monitor.disk_health(client)
    print(json.dumps(health, indent=2, default=str) if args.json else disk_monitor.render(health))
    return 0
