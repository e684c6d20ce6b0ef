"""``logharbor devstack up|down|status|logs``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import stack
from .process import tail
from .settings import DevstackSettings


def _settings(args: argparse.Namespace) -> DevstackSettings:
    overrides = {}
    for arg, field in (("data_dir", "data_dir"), ("nodes", "nodes"), ("opensearch_port", "opensearch_port"),
                       ("transport_port", "opensearch_transport_port"), ("kafka_port", "kafka_port"),
                       ("controller_port", "kafka_controller_port"), ("kafka_brokers", "kafka_brokers")):
        value = getattr(args, arg, None)
        if value is not None:
            overrides[field] = value
    return DevstackSettings(**overrides)


def _log(msg: str) -> None:
    print(msg, flush=True)


def _components(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(args.only) if getattr(args, "only", None) else stack.COMPONENTS


def cmd_up(args: argparse.Namespace) -> int:
    stack.up(_settings(args), _components(args), log=_log)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stack.down(_settings(args), _components(args), log=_log)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    info = stack.status(_settings(args))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"data dir: {info['data_dir']}")
    o = info["opensearch"]
    if o["running"]:
        print(f"opensearch {o.get('version')}: {o.get('status')} at {o['url']} (pid {o['pid']}, Java {o['java']}, "
              f"heap {o['heap_mb']} MB, ports {o['ports']})")
        if len(set(o.get("node_pids", {}).values())) > 1:
            print("  one JVM per node: " + ", ".join(f"{n} pid {p}" for n, p in o["node_pids"].items()))
        for n in o.get("nodes", []):
            plugins = ", ".join(n["plugins"]) or "none"
            print(f"  {n['name']}: {n['http']} temp={n['temp']} modules={n['modules']} plugins: {plugins}")
    else:
        print(f"opensearch {o['configured_version']}: not running")
    k = info["kafka"]
    if k["running"]:
        print(f"kafka {k['configured_version']}: {'reachable' if k['reachable'] else 'NOT reachable'} at "
              f"{k['bootstrap']} (pid {k['pid']}, Java {k['java']}, heap {k['heap_mb']} MB, ports {k['ports']})")
        if len(k.get("brokers", {})) > 1:
            print("  brokers: " + ", ".join(f"{b} pid {v['pid']}{'' if v['running'] else ' (DOWN)'}"
                                           for b, v in k["brokers"].items()))
    else:
        print(f"kafka {k['configured_version']}: not running")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    settings = _settings(args)
    paths = [stack.log_path(settings, c) for c in _components(args)]
    for p in paths:
        print(f"==> {p} <==")
        print(tail(p, args.lines))
    if not args.follow:
        return 0
    offsets = {p: p.stat().st_size if p.exists() else 0 for p in paths}
    try:
        while True:
            for p in paths:
                if p.exists() and p.stat().st_size > offsets[p]:
                    with open(p, "rb") as f:
                        f.seek(offsets[p])
                        chunk = f.read()
                    offsets[p] += len(chunk)
                    sys.stdout.write(chunk.decode(errors="replace"))
                    sys.stdout.flush()
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devstack", help="local OpenSearch + Kafka from Maven Central (no Docker)")
    dsub = p.add_subparsers(dest="devstack_command", metavar="ACTION", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--data-dir", type=Path, help="folder for data, logs and state (LOGHARBOR_DEVSTACK_DATA_DIR)")
        sp.add_argument("--only", action="append", choices=stack.COMPONENTS, help="act on one component")
        sp.add_argument("--opensearch-port", type=int)
        sp.add_argument("--transport-port", type=int)
        sp.add_argument("--kafka-port", type=int)
        sp.add_argument("--controller-port", type=int)

    up = dsub.add_parser("up", help="fetch (first time), start and wait until healthy; idempotent")
    common(up)
    up.add_argument("--nodes", type=int, help="OpenSearch nodes (3 gives temp=hot/warm/cold)")
    up.add_argument("--kafka-brokers", type=int,
                    help="Kafka brokers, one JVM each (3: topics with replication 3 and min.insync.replicas 2)")
    up.set_defaults(handler=cmd_up)
    down = dsub.add_parser("down", help="stop exactly what `up` started")
    common(down)
    down.set_defaults(handler=cmd_down)
    st = dsub.add_parser("status", help="versions, health, ports, data dir, plugins")
    common(st)
    st.add_argument("--json", action="store_true")
    st.set_defaults(handler=cmd_status)
    lg = dsub.add_parser("logs", help="show (and with -f follow) the server logs")
    common(lg)
    lg.add_argument("-n", "--lines", type=int, default=40)
    lg.add_argument("-f", "--follow", action="store_true")
    lg.set_defaults(handler=cmd_logs)
