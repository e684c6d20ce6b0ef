"""``logharbor alerts list|create --file|test|silence|delete`` and ``logharbor alerter``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import yaml


async def _with_ctx(fn: Any, *args: Any) -> Any:
    from alerting.evaluator import Context
    from alerting.settings import AlertingSettings
    from opensearch.client import async_client

    client = async_client()
    try:
        return await fn(Context(client, AlertingSettings()), *args)
    finally:
        await client.close()


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def cmd_alerts(args: argparse.Namespace) -> int:
    from alerting import manage
    from logharbor.config import StorageSettings

    tenant = args.tenant or StorageSettings().default_tenant
    try:
        if args.action == "list":
            rules = asyncio.run(_with_ctx(manage.list_rules, tenant))
            if args.json:
                _print(rules)
            else:
                for r in rules:
                    st = r["state"]
                    print(f"{r['id']:<24} {st['state']:<8} {'on ' if r.get('enabled') else 'off'} "
                          f"{r['condition']['type']:<6} {r['name']}")
        elif args.action == "create":
            text = Path(args.file).read_text() if args.file != "-" else sys.stdin.read()
            body = yaml.safe_load(text)
            docs = body if isinstance(body, list) else [body]
            for doc in docs:
                _print(asyncio.run(_with_ctx(manage.create_rule, tenant, doc)))
        elif args.action == "test":
            _print(asyncio.run(_with_ctx(manage.test_rule, tenant, args.rule_id)))
        elif args.action == "silence":
            matchers = []
            if args.rule_id:
                matchers.append({"name": "rule_id", "value": args.rule_id})
            for m in args.match or []:
                name, _, value = m.partition("=")
                matchers.append({"name": name, "value": value})
            body = {"matchers": matchers, "duration": args.duration, "comment": args.comment or ""}
            _print(asyncio.run(_with_ctx(manage.create_silence, tenant, body, args.author)))
        elif args.action == "delete":
            asyncio.run(_with_ctx(manage.delete_rule, tenant, args.rule_id))
            print(f"deleted {args.rule_id}")
    except manage.AlertError as exc:
        print(f"logharbor alerts: {exc}", file=sys.stderr)
        for d in exc.details[1:]:
            print(f"  {d['field']}: {d['error']}", file=sys.stderr)
        return 1
    return 0


def cmd_alerter(args: argparse.Namespace) -> int:
    from alerting.service import run_alerter
    from alerting.settings import AlertingSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("opensearch").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        ready = asyncio.Event()
        task = asyncio.create_task(run_alerter(AlertingSettings(), stop, ready=ready))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if ready.is_set():
            print("logharbor alerter: ready", flush=True)
        await task

    asyncio.run(main())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="alert rules: list, create from a file, test, silence, delete")
    p.add_argument("action", choices=["list", "create", "test", "silence", "delete"])
    p.add_argument("rule_id", nargs="?", help="rule id (test, silence, delete)")
    p.add_argument("--tenant", help="tenant (default: storage.default_tenant)")
    p.add_argument("--file", "-f", help="YAML or JSON rule (or a list of rules) for create; - for stdin")
    p.add_argument("--json", action="store_true", help="list as JSON")
    p.add_argument("--match", action="append", metavar="LABEL=VALUE", help="silence matcher (repeatable)")
    p.add_argument("--duration", default="1h", help="silence duration (default 1h)")
    p.add_argument("--comment", help="silence comment")
    p.add_argument("--author", default="cli", help="silence author")
    p.set_defaults(handler=cmd_alerts)
    a = sub.add_parser("alerter", help="alert evaluator (scheduled + streaming) and notification sender")
    a.set_defaults(handler=cmd_alerter)
