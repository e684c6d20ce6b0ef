"""``logharbor gateway`` and ``logharbor keys``: the ingest role and API-key administration.

Keys live here because the gateway is their first user; the store itself is
opensearch/keys.py so the UI can manage ``read``/``admin`` keys with the same code.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

from gateway.settings import GatewaySettings
from logharbor.config import OpenSearchSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``gateway`` and ``keys`` to the ``logharbor`` command (ops/cli.py collects this)."""
    gw = subparsers.add_parser("gateway", help="run the ingestion gateway (POST /ingest → Kafka)")
    gw.add_argument("--host", help="bind address (default 127.0.0.1; gateway.host)")
    gw.add_argument("--port", type=int, help="port (default 8088; gateway.port)")
    gw.add_argument("--workers", type=int, help="processes sharing the port via SO_REUSEPORT (default 1)")
    gw.add_argument("--policy", choices=["strict", "partial"], help="invalid entries: reject batch or skip them")
    gw.set_defaults(handler=_run_gateway)

    keys = subparsers.add_parser("keys", help="create, list, revoke and rotate API keys")
    ks = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    create = ks.add_parser("create", help="create a key and print it once")
    create.add_argument("--tenant", required=True)
    create.add_argument("--source", required=True, help="source name the key writes as (e.g. web-nginx)")
    create.add_argument(
        "--scope",
        action="append",
        choices=["ingest", "read", "admin", "operator"],
        default=None,
        help="repeat for several (default: ingest); operator = cluster-wide scope, see docs/SECURITY.md",
    )
    create.add_argument("--environment", help="e.g. prod, staging (recorded on every event)")
    create.add_argument("--expires-in", help="lifetime such as 30d, 12h (default: no expiry)")
    create.add_argument("--rate", type=float, help="events/s for this key (default: gateway.default_rate)")
    create.add_argument("--burst", type=float, help="burst in events (default: gateway.default_burst)")
    create.add_argument("--description")
    create.add_argument("--audit", action="store_true", help="events from this key are audit logs (audit retention)")
    create.add_argument("--json", action="store_true", help="print JSON (key included) instead of text")
    create.set_defaults(handler=_keys_create)
    lst = ks.add_parser("list", help="list keys (never their secrets)")
    lst.add_argument("--tenant")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=_keys_list)
    rev = ks.add_parser("revoke", help="revoke a key (gateways stop accepting it within ~5 s)")
    rev.add_argument("key", metavar="KEY_OR_ID")
    rev.set_defaults(handler=_keys_revoke)
    rot = ks.add_parser("rotate", help="replace a key (also renews an expired one); prints the new key once")
    rot.add_argument("key", metavar="KEY_OR_ID")
    rot.add_argument("--grace", default="0s", help="keep the old key working this long (e.g. 1h; default 0)")
    rot.add_argument("--expires-in", help="lifetime of the new key (default: the old key's lifetime)")
    rot.add_argument("--json", action="store_true")
    rot.set_defaults(handler=_keys_rotate)
    keys.set_defaults(handler=lambda args: (keys.print_help(), 2)[1])


def _run_gateway(args: argparse.Namespace) -> int:
    from gateway.server import run_gateway

    overrides: dict[str, Any] = {
        k: v
        for k, v in {
            "host": args.host,
            "port": args.port,
            "workers": args.workers,
            "policy": args.policy,
        }.items()
        if v is not None
    }
    return run_gateway(GatewaySettings(**overrides))


def _with_store(fn: Any) -> Any:
    from opensearch.client import async_client
    from opensearch.keys import KeyStore, KeyStoreError

    async def go() -> Any:
        client = async_client(OpenSearchSettings())
        try:
            return await fn(KeyStore(client))
        finally:
            await client.close()

    try:
        return asyncio.run(go())
    except KeyStoreError as exc:
        print(f"logharbor keys: {exc}", file=sys.stderr)
        return None


def _print_new_key(token: str, record: Any, as_json: bool) -> None:
    if as_json:
        print(orjson.dumps({"key": token, **record.public()}).decode())
        return
    print(token)
    print(
        f"key id {record.key_id}: tenant={record.tenant} source={record.source} "
        f"scopes={','.join(record.scopes)}"
        f" expires={record.expires_at or 'never'}\n"
        "This is the only time the key is shown; store it in your secret manager.",
        file=sys.stderr,
    )


def _keys_create(args: argparse.Namespace) -> int:
    from opensearch.keys import KeyStoreError, parse_duration

    try:
        expires = parse_duration(args.expires_in) if args.expires_in else None
    except KeyStoreError as exc:
        print(f"logharbor keys: {exc}", file=sys.stderr)
        return 2
    out = _with_store(
        lambda store: store.create(
            tenant=args.tenant,
            source=args.source,
            scopes=args.scope or ["ingest"],
            environment=args.environment,
            expires_in=expires,
            rate=args.rate,
            burst=args.burst,
            description=args.description,
            audit=args.audit,
        )
    )
    if out is None:
        return 2
    _print_new_key(*out, args.json)
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    records = _with_store(lambda store: store.list(tenant=args.tenant))
    if records is None:
        return 2
    if args.json:
        print(orjson.dumps([r.public() for r in records]).decode())
        return 0
    fmt = "{:<12} {:<8} {:<16} {:<16} {:<10} {:<18} {:<14} {:<20}"
    print(fmt.format("ID", "STATUS", "TENANT", "SOURCE", "ENV", "SCOPES", "RATE/BURST", "EXPIRES"))
    for r in records:
        limits = f"{r.rate or '-'}/{r.burst or '-'}"
        print(
            fmt.format(
                r.key_id,
                r.status(),
                r.tenant,
                r.source,
                r.environment or "-",
                ",".join(r.scopes),
                limits,
                r.expires_at or "never",
            )
        )
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    record = _with_store(lambda store: store.revoke(args.key))
    if record is None:
        return 2
    print(f"revoked {record.key_id} at {record.revoked_at}; gateways refuse it within their key refresh (~5 s)")
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    from opensearch.keys import KeyStoreError, parse_duration

    try:
        grace = parse_duration(args.grace)
        expires = parse_duration(args.expires_in) if args.expires_in else None
    except KeyStoreError as exc:
        print(f"logharbor keys: {exc}", file=sys.stderr)
        return 2
    out = _with_store(lambda store: store.rotate(args.key, grace=grace, expires_in=expires))
    if out is None:
        return 2
    _print_new_key(*out, args.json)
    return 0
