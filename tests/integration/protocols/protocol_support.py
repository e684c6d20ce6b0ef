"""One real stack for the protocol tests (issue 18): ``logharbor gateway`` and ``logharbor pipeline``
as subprocesses on topics of their own, the shared OpenSearch and Kafka, and helpers to wait until
events are stored and to assert each is stored exactly once.

Session-scoped so the ES, OTLP, GELF and syslog tests share one gateway and one pipeline (starting
them is most of a test's time). Each test writes with keys of its own tenant (``Stack.key``), so
tests never see each other's events; listeners are bound to keys created here, one source each.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_pipeline import create_topics, delete_streams, delete_topics, free_port

from gateway.testing import GatewayProcess, keys
from opensearch.bootstrap import bootstrap

REPO = Path(__file__).resolve().parents[3]
CACHE = REPO / ".cache" / "protocol-clients"
INSTALL_HINT = "run ./ops/protocol_clients.sh (installs rsyslog, an extracted syslog-ng, npm and pip clients)"
LISTENERS = ("syslog_tcp", "syslog_udp", "syslog_tls", "gelf_udp", "gelf_tcp")


@dataclass
class Stack:
    gw: GatewayProcess
    os_client: Any
    os_url: str
    tenant: str
    listener_ports: dict[str, int]
    listener_keys: dict[str, str]
    tls_dir: Path
    es_port: int = 0
    otlp_port: int = 0
    otlp_grpc_port: int = 0
    created_tenants: list[str] = field(default_factory=list)

    def key(self, tenant: str, source: str, **kw: Any) -> str:
        token, _ = keys(self.os_url, "create", tenant=tenant, source=source, scopes=["ingest"],
                        rate=kw.pop("rate", 1e6), burst=kw.pop("burst", 1e6), **kw)
        if tenant not in self.created_tenants:
            self.created_tenants.append(tenant)
        return token

    def revoke(self, token: str) -> None:
        key_id = token.split("_")[2]
        keys(self.os_url, "revoke", key_id)

    def hits(self, tenant: str, query: dict | None = None, size: int = 1000) -> list[dict]:
        index = f"logs-{tenant}-*"
        self.os_client.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
        body = {"size": size, "query": query or {"match_all": {}}, "sort": [{"@timestamp": "asc"}]}
        resp = self.os_client.search(index=index, body=body, ignore_unavailable=True, allow_no_indices=True)
        return [h["_source"] for h in resp["hits"]["hits"]]

    def wait_stored(self, tenant: str, n: int, query: dict | None = None, within_s: float = 60) -> list[dict]:
        """Wait until ``n`` events match, then a little longer to catch any duplicate; returns them."""
        deadline = time.monotonic() + within_s
        docs: list[dict] = []
        while time.monotonic() < deadline:
            docs = self.hits(tenant, query)
            if len(docs) >= n:
                break
            time.sleep(0.5)
        time.sleep(1.5)  # a duplicate would arrive in the same pipeline batch or the next
        docs = self.hits(tenant, query)
        assert len(docs) == n, f"expected {n} events stored for {tenant}, found {len(docs)}: {docs[:3]}"
        ids = [d["event"]["id"] for d in docs]
        assert len(set(ids)) == n, "an event id is stored twice"
        return docs

    def by_message(self, docs: list[dict]) -> dict[str, dict]:
        out = {d["message"]: d for d in docs}
        assert len(out) == len(docs), "two stored events have the same message (stored twice?)"
        return out


def _tls_material(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
        check=True, capture_output=True,
    )


@pytest.fixture(scope="session", name="stack")
def stack_fixture(os_client, os_url, kafka_bootstrap, tmp_path_factory) -> Iterator[Stack]:
    from opensearchpy.exceptions import ConflictError

    for attempt in range(10):  # other sessions bootstrap the shared cluster concurrently
        try:
            bootstrap(os_client)
            break
        except ConflictError:
            if attempt == 9:
                raise
            time.sleep(1 + attempt)
    suffix = uuid.uuid4().hex[:10]
    raw, processed, dlq = f"lh-proto-raw-{suffix}", f"lh-proto-processed-{suffix}", f"lh-proto-dlq-{suffix}"
    asyncio.run(create_topics(kafka_bootstrap, [raw], 2))
    asyncio.run(create_topics(kafka_bootstrap, [processed, dlq], 1))
    tenant = "tproto" + suffix[:6]
    tls_dir = tmp_path_factory.mktemp("proto-tls")
    _tls_material(tls_dir)
    ports = {name: free_port() for name in LISTENERS}
    listener_keys = {}
    listeners = []
    for name in LISTENERS:
        kind, transport = name.split("_")
        token, _ = keys(os_url, "create", tenant=tenant, source=name.replace("_", "-"), scopes=["ingest"],
                        rate=1e6, burst=1e6)
        listener_keys[name] = token
        conf: dict[str, Any] = {"name": name, "kind": kind, "transport": transport, "port": ports[name],
                                "key": token, "batch_s": 0.05, "timezone": "Europe/Berlin"}
        if transport == "tls":
            conf.update(tls_cert=str(tls_dir / "cert.pem"), tls_key=str(tls_dir / "key.pem"))
        listeners.append(conf)
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": raw, "LOGHARBOR_KAFKA_PROCESSED_TOPIC": processed,
           "LOGHARBOR_KAFKA_DLQ_TOPIC": dlq, "LOGHARBOR_KAFKA_CONSUMER_GROUP": f"lh-proto-{suffix}",
           "LOGHARBOR_PIPELINE_HTTP_PORT": str(free_port()), "LOGHARBOR_GATEWAY_KEY_REFRESH_S": "1"}
    es_port, otlp_port, otlp_grpc_port = free_port(), free_port(), free_port()
    gw_env = {**env, "LOGHARBOR_GATEWAY_PROTOCOLS__LISTENERS": json.dumps(listeners),
              "LOGHARBOR_GATEWAY_PROTOCOLS__ES_PORT": str(es_port),
              "LOGHARBOR_GATEWAY_PROTOCOLS__OTLP_PORT": str(otlp_port),
              "LOGHARBOR_GATEWAY_PROTOCOLS__OTLP_GRPC_PORT": str(otlp_grpc_port)}
    pipeline = subprocess.Popen([sys.executable, "-m", "ops.cli", "pipeline"], cwd=REPO,
                                env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    gw = GatewayProcess(env=gw_env)
    s = Stack(gw=gw, os_client=os_client, os_url=os_url, tenant=tenant, listener_ports=ports,
              listener_keys=listener_keys, tls_dir=tls_dir, es_port=es_port, otlp_port=otlp_port,
              otlp_grpc_port=otlp_grpc_port,
              created_tenants=[tenant])
    try:
        gw.start()
        gw.wait_ready()
        yield s
    finally:
        gw.stop()
        pipeline.send_signal(signal.SIGTERM)
        try:
            pipeline.wait(60)
        except subprocess.TimeoutExpired:
            pipeline.kill()
        for t in s.created_tenants:
            delete_streams(os_client, t)
        asyncio.run(delete_topics(kafka_bootstrap, [raw, processed, dlq]))


def require(path: Path | str, what: str) -> str:
    """A client binary the test needs: fail (never skip) naming how to install it."""
    p = Path(path) if os.sep in str(path) else Path(shutil.which(str(path)) or "")
    if not str(p) or not p.exists():
        pytest.fail(f"{what} is missing ({path}): {INSTALL_HINT}")
    return str(p)


def wait_until(predicate: Any, within_s: float, what: str, interval: float = 0.3) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {within_s} s waiting for {what}")


def field(doc: dict, dotted: str) -> Any:
    """A stored field by its dotted name: at its ECS place, or — for names outside LogHarbor's field
    vocabulary — under ``fields.`` where the pipeline keeps them (docs/QUERY.md)."""
    for root in (doc, doc.get("fields") or {}):
        node: Any = root
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return node
        if dotted in root:
            return root[dotted]
    raise KeyError(f"{dotted} is not stored (neither at its place nor under fields.): {sorted(doc)}")
