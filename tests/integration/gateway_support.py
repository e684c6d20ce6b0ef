"""Helpers the gateway's integration tests share: a running gateway process, ingest keys, batches,
``POST /ingest``.

Each tests/integration/test_gateway*.py module used to write its own copy of these (issue 10);
a module keeps only what is its own (its gateway's settings, its payloads).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import requests

from gateway.testing import GatewayProcess, keys

NDJSON = {"Content-Type": "application/x-ndjson"}


def now_iso(delta_s: float = 0) -> str:
    """Now (plus ``delta_s``) as RFC 3339 UTC with a ``Z``."""
    return (datetime.now(UTC) + timedelta(seconds=delta_s)).isoformat().replace("+00:00", "Z")


def events(n: int, **kw) -> list[dict]:
    """``n`` structured events stamped now (``event 0`` …), with ``kw`` added to each."""
    return [{"timestamp": now_iso(), "level": "info", "message": f"event {i}", **kw} for i in range(n)]


def post(
    gw: GatewayProcess, body: bytes | list, key: str | None, headers: dict | None = None, path: str = "/ingest",
    timeout: float = 30,
) -> requests.Response:
    """POST a batch (a list is sent as JSON; bytes as they are) with the key as Bearer token."""
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = f"Bearer {key}"
    h.update(headers or {})
    data = orjson.dumps(body) if isinstance(body, list) else body
    return requests.post(gw.url + path, data=data, headers=h, timeout=timeout)


def new_key(os_url: str, tenant: str, source: str = "web", **kw) -> str:
    """A new ingest key of ``tenant`` (``scopes`` and the other ``keys create`` options in ``kw``)."""
    token, _ = keys(os_url, "create", tenant=tenant, source=source, scopes=kw.pop("scopes", ["ingest"]), **kw)
    return token


def running_gateway(env: dict[str, str]) -> Iterator[GatewayProcess]:
    """A gateway process with ``env``, ready; stopped after (``yield from`` it in a fixture)."""
    with GatewayProcess(env=env) as g:
        g.wait_ready()
        yield g
