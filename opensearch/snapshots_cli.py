"""``logharbor snapshots repo|create|list|status|restore|verify|schedule|delete|prune``.

Every command exits non-zero when the operation failed (a failed or partial snapshot, a
refused restore, a verify that found differences), so cron jobs and runbooks can rely on it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from .client import sync_client
from .lifecycle_settings import LifecycleSettings
from .snapshot_schedule import SnapshotScheduler, next_slots, run_snapshot
from .snapshot_verify import verify
from .snapshots import (
    SnapshotError,
    apply_retention,
    create,
    delete,
    info,
    latest,
    list_snapshots,
    plan_restore,
    register_repository,
    repository_exists,
    restore,
    summary,
    wait,
)


def _repo(args: argparse.Namespace) -> str:
    return args.repository or LifecycleSettings().snapshot_repository


def _out(obj: object) -> None:
    print(json.dumps(obj, indent=2, default=str))


def cmd_repo(args: argparse.Namespace) -> int:
    client, repo = sync_client(), _repo(args)
    if args.location:
        _out({repo: register_repository(client, repo, args.location)})
        return 0
    if not repository_exists(client, repo):
        print(f"snapshot repository '{repo}' is not registered (use --location DIR)", file=sys.stderr)
        return 1
    _out(client.snapshot.get_repository(repository=repo))
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    client, repo, settings = sync_client(), _repo(args), LifecycleSettings()
    if args.wait and not args.no_record:
        once = settings.model_copy(update={"snapshot_repository": repo,
                                           "snapshot_indices": args.indices or settings.snapshot_indices,
                                           "snapshot_timeout_s": args.timeout or settings.snapshot_timeout_s})
        run = run_snapshot(client, once, trigger="manual", holder="cli", verify=False)
        _out(run)
        return 0 if run.get("outcome") == "SUCCESS" else 1
    name = create(client, repo, indices=args.indices or settings.snapshot_indices, trigger="manual", actor="cli")
    if not args.wait:
        print(name)
        return 0
    snap = wait(client, repo, name, args.timeout or settings.snapshot_timeout_s)
    _out(summary(snap))
    return 0 if snap.get("state") == "SUCCESS" else 1


def cmd_list(args: argparse.Namespace) -> int:
    snaps = [summary(s) for s in list_snapshots(sync_client(), _repo(args))]
    if args.json:
        _out(snaps)
        return 0
    for s in snaps:
        tag = "logharbor" if s["logharbor"] else "foreign"
        print(f"{s['snapshot']:<44} {s['state']:<11} {tag:<9} {s['start_time']}  {len(s['indices'])} indices")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    client, repo = sync_client(), _repo(args)
    snap = latest(client, repo) if args.latest or not args.name else info(client, repo, args.name)
    _out(summary(snap))
    return 0 if snap.get("state") in ("SUCCESS", "IN_PROGRESS") else 1


def cmd_restore(args: argparse.Namespace) -> int:
    client, repo = sync_client(), _repo(args)
    if args.snapshot:
        name = args.snapshot
    elif args.latest:
        ds = args.data_stream[0] if args.data_stream and len(args.data_stream) == 1 else None
        name = latest(client, repo, data_stream=ds)["snapshot"]
    else:
        print("logharbor: restore needs --latest or --snapshot NAME", file=sys.stderr)
        return 2
    plan = plan_restore(client, repo, name, data_streams=args.data_stream, indices=args.index,
                        rename_pattern=args.rename_pattern, rename_replacement=args.rename_replacement)
    print(f"restore from snapshot {name}:")
    for src, dst in plan.targets.items():
        print(f"  {src} -> {dst}{'   (OPEN INDEX IN THE WAY)' if dst in plan.conflicts else ''}")
    if args.dry_run:
        print("dry run: nothing restored" + ("; the restore would be REFUSED" if plan.conflicts else ""))
        return 1 if plan.conflicts else 0
    res = restore(client, repo, plan, rename_pattern=args.rename_pattern, rename_replacement=args.rename_replacement,
                  wait_for_completion=args.wait, actor="cli")
    shards = (res.get("snapshot") or {}).get("shards") or {}
    if args.wait:
        print(f"restored {shards.get('successful', 0)}/{shards.get('total', 0)} shards")
        return 0 if shards.get("failed", 0) == 0 else 1
    print("restore started (follow with `GET _cat/recovery`)")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    settings = LifecycleSettings()
    res = verify(sync_client(), _repo(args), snapshot=args.snapshot, sample=args.sample or settings.verify_sample,
                 actor="cli")
    _out(res)
    return 0 if res["ok"] else 1


def cmd_schedule(args: argparse.Namespace) -> int:
    settings = LifecycleSettings()
    schedule = args.schedule or settings.snapshot_schedule
    if not args.run:
        tz = ZoneInfo(settings.snapshot_timezone)
        print(f"schedule '{schedule}' in {settings.snapshot_timezone}; next runs:")
        for t in next_slots(schedule, settings.snapshot_timezone, datetime.now().timestamp(), 5):
            print(f"  {datetime.fromtimestamp(t, tz).isoformat()}")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sched = SnapshotScheduler(sync_client(), settings, schedule,
                              on_run=lambda run: print(json.dumps(run, default=str), flush=True))
    print(f"snapshot scheduler {sched.lease.holder} on '{schedule}' ({settings.snapshot_timezone})", flush=True)
    try:
        sched.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    delete(sync_client(), _repo(args), args.name, actor="cli")
    print(f"deleted {args.name}")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    s = LifecycleSettings()
    gone = apply_retention(sync_client(), _repo(args), max_count=s.snapshot_max_count, max_age=s.snapshot_max_age,
                           min_count=s.snapshot_min_count)
    _out({"deleted": gone})
    return 0


def _guarded(handler):  # SnapshotError → a one-line message and exit 1
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except SnapshotError as exc:
            print(f"logharbor snapshots: {exc}", file=sys.stderr)
            return 1
    return run


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("snapshots", help="snapshot repository, create, restore, verify, schedule")
    p.add_argument("--repository", help="repository name (default lifecycle.snapshot_repository)")
    ssub = p.add_subparsers(dest="snapshots_command", metavar="ACTION", required=True)

    def add(name: str, handler, help: str) -> argparse.ArgumentParser:
        sp = ssub.add_parser(name, help=help)
        sp.set_defaults(handler=_guarded(handler))
        return sp

    r = add("repo", cmd_repo, "show the repository, or register an fs one with --location")
    r.add_argument("--location", help="folder under the nodes' path.repo")
    c = add("create", cmd_create, "take a snapshot of logs-* (non-blocking unless --wait)")
    c.add_argument("--wait", action="store_true")
    c.add_argument("--indices", help="pattern (default lifecycle.snapshot_indices)")
    c.add_argument("--timeout", type=float, help="seconds to wait (default lifecycle.snapshot_timeout_s)")
    c.add_argument("--no-record", action="store_true", help="with --wait: no run-history record, no retention")
    ls = add("list", cmd_list, "snapshots in the repository, oldest first")
    ls.add_argument("--json", action="store_true")
    st = add("status", cmd_status, "one snapshot's state (or --latest)")
    st.add_argument("name", nargs="?")
    st.add_argument("--latest", action="store_true")
    rs = add("restore", cmd_restore, "restore data streams or indices (refuses to overwrite open indices)")
    rs.add_argument("--latest", action="store_true", help="the newest successful snapshot")
    rs.add_argument("--snapshot")
    rs.add_argument("--data-stream", action="append", help="repeatable; default: every data stream")
    rs.add_argument("--index", action="append", help="a backing index; repeatable")
    rs.add_argument("--rename-pattern")
    rs.add_argument("--rename-replacement")
    rs.add_argument("--dry-run", action="store_true", help="print what would be restored, restore nothing")
    rs.add_argument("--wait", action="store_true")
    v = add("verify", cmd_verify, "restore the latest snapshot into scratch names and compare")
    v.add_argument("--snapshot")
    v.add_argument("--sample", type=int)
    sc = add("schedule", cmd_schedule, "show the next runs, or --run the scheduler (one holder at a time)")
    sc.add_argument("--run", action="store_true")
    sc.add_argument("--schedule", help="cron expression; 6 fields = seconds last (croniter)")
    d = add("delete", cmd_delete, "delete one snapshot")
    d.add_argument("name")
    add("prune", cmd_prune, "apply snapshot retention (max_count, max_age, min_count) now")
