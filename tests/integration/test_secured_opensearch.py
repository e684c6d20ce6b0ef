"""LogHarbor against OpenSearch WITH the security plugin, as the least-privilege user.

One secured node (ops/devstack/secured_node.py: the devstack's runner jars + the security
plugin's zip from Maven Central, TLS and config made by ops/opensearch-security/setup.sh) is
started for this module. Then: no credentials / a wrong password get 401; ``logharbor init``
as ``logharbor`` over HTTPS with the CA creates the index templates; a gateway and a pipeline
(own topics and group on the shared Kafka, a fresh tenant) index events that the query API finds
as that user; and ``logharbor`` is refused what roles.yml does not grant it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from test_pipeline import create_topics, delete_topics, free_port

from gateway.testing import GatewayProcess
from logharbor.config import KafkaSettings, OpenSearchSettings
from ops.devstack import secured_node
from ops.devstack.settings import DevstackSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
N = 60


@pytest.fixture(scope="module")
def node() -> Iterator[secured_node.SecuredNode]:
    home = Path(tempfile.mkdtemp(prefix="lh-secured-os-"))
    passwords = {u: secrets.token_urlsafe(16) for u in ("logharbor", "admin", "kibanaserver")}
    started = secured_node.start(home, DevstackSettings().cache_dir, passwords)
    try:
        secured_node.wait_ready(started, timeout_s=420)
        yield started
    finally:
        secured_node.stop(started)
        shutil.rmtree(home, ignore_errors=True)


def lh_settings(node: secured_node.SecuredNode) -> OpenSearchSettings:
    return OpenSearchSettings(url=node.url, username="logharbor", password=node.passwords["logharbor"],
                              ca_certs=str(node.ca))


def lh(node: secured_node.SecuredNode, method: str, path: str, body: object = None) -> tuple[int, object]:
    return secured_node.request(node, method, path, auth=("logharbor", node.passwords["logharbor"]), body=body)


def test_anonymous_and_wrong_password_are_refused(node):
    status, _ = secured_node.request(node, "GET", "/_cluster/health")
    assert status == 401
    status, _ = secured_node.request(node, "GET", "/", auth=("logharbor", "not-the-password"))
    assert status == 401
    status, _ = secured_node.request(node, "GET", "/.logharbor-keys/_search", auth=("admin", "nope"))
    assert status == 401
    status, body = lh(node, "GET", "/_plugins/_security/authinfo")
    assert status == 200 and body["roles"] == ["logharbor_service"], body
    # plain HTTP on the TLS port is not served
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(node.url.replace("https", "http") + "/", timeout=10).raise_for_status()


def test_init_as_logharbor_user_creates_templates(node):
    env = {**os.environ, **node.env(), "LOGHARBOR_KAFKA_BOOTSTRAP": os.environ.get(
        "LOGHARBOR_KAFKA_BOOTSTRAP", "127.0.0.1:9092")}
    # init also ensures Kafka topics: give it throwaway names on the shared Kafka
    suffix = uuid.uuid4().hex[:10]
    topics = {"LOGHARBOR_KAFKA_RAW_TOPIC": f"lh-sec-raw-{suffix}",
              "LOGHARBOR_KAFKA_PROCESSED_TOPIC": f"lh-sec-processed-{suffix}",
              "LOGHARBOR_KAFKA_DLQ_TOPIC": f"lh-sec-dlq-{suffix}"}
    try:
        run = subprocess.run([sys.executable, "-m", "ops.cli", "init"], cwd=REPO, env={**env, **topics},
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    finally:
        asyncio.run(delete_topics(env["LOGHARBOR_KAFKA_BOOTSTRAP"], list(topics.values())))
    status, body = secured_node.request(node, "GET", "/_index_template/logharbor-*", admin=True)
    assert status == 200, body
    names = {t["name"] for t in body["index_templates"]}
    assert "logharbor-logs-audit" in names and len(names) >= 4, names
    status, body = lh(node, "GET", "/_index_template/logharbor-*")
    assert status == 200, body  # the service user may read back what it manages


async def _create_keys(settings: OpenSearchSettings, tenant: str) -> tuple[str, str]:
    from opensearch.client import async_client
    from opensearch.keys import KeyStore

    client = async_client(settings)
    try:
        store = KeyStore(client)
        ingest, _ = await store.create(tenant=tenant, source="secured", scopes=["ingest"], rate=1e5, burst=1e5)
        read, _ = await store.create(tenant=tenant, source="secured", scopes=["read"])
        return ingest, read
    finally:
        await client.close()


async def _search(settings: OpenSearchSettings, kafka_bootstrap: str, key: str, **params: str) -> tuple[int, dict]:
    """The query API (an in-process ui app on a real socket) reading as ``logharbor``."""
    from ui.app import create_app
    from ui.settings import UISettings

    app = create_app(UISettings(heartbeat_s=1.0, rollup_interval_s=0), opensearch=settings,
                     kafka=KafkaSettings(bootstrap=kafka_bootstrap))
    http = TestClient(TestServer(app))
    await http.start_server()
    try:
        resp = await http.get("/api/v1/logs/search", params={"from": "2026-01-01T00:00:00Z",
                                                              "to": "2026-02-01T00:00:00Z", **params},
                              headers={"Authorization": f"Bearer {key}"})
        return resp.status, await resp.json()
    finally:
        await http.close()


def test_gateway_pipeline_and_query_api_as_logharbor_user(node, kafka_bootstrap, unique_tenant):
    from opensearch.bootstrap import bootstrap
    from opensearch.client import sync_client

    settings = lh_settings(node)
    sync = sync_client(settings)
    bootstrap(sync)
    ingest, read = asyncio.run(_create_keys(settings, unique_tenant))
    suffix = uuid.uuid4().hex[:10]
    raw, processed, dlq = f"lh-sec-raw-{suffix}", f"lh-sec-processed-{suffix}", f"lh-sec-dlq-{suffix}"
    asyncio.run(create_topics(kafka_bootstrap, [raw], 2))
    asyncio.run(create_topics(kafka_bootstrap, [processed, dlq], 1))
    env = {**node.env(), "LOGHARBOR_KAFKA_BOOTSTRAP": kafka_bootstrap, "LOGHARBOR_KAFKA_RAW_TOPIC": raw,
           "LOGHARBOR_KAFKA_PROCESSED_TOPIC": processed, "LOGHARBOR_KAFKA_DLQ_TOPIC": dlq,
           "LOGHARBOR_KAFKA_CONSUMER_GROUP": f"lh-sec-{suffix}",
           "LOGHARBOR_PIPELINE_HTTP_PORT": str(free_port())}
    pipeline_log = Path(tempfile.mkstemp(prefix="lh-sec-pipeline-", suffix=".log")[1])
    with pipeline_log.open("wb") as out:
        pipeline = subprocess.Popen([sys.executable, "-m", "ops.cli", "pipeline"], cwd=REPO,
                                    env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        with GatewayProcess(env=env) as gw:
            gw.wait_ready(timeout_s=120)
            body = b"\n".join(orjson.dumps({"raw": f"2026-01-19 10:30:00 ERROR [Vault] sealed op{i}",
                                             "format": "auto"}) for i in range(N))
            r = requests.post(gw.url + "/ingest", data=body, timeout=60, headers={
                "Authorization": f"Bearer {ingest}", "Content-Type": "application/x-ndjson"})
            assert r.status_code == 202, r.text
            assert r.json()["accepted"] == N
        deadline = time.monotonic() + 240
        count = 0
        while time.monotonic() < deadline:
            assert pipeline.poll() is None, pipeline_log.read_text()[-4000:]
            sync.indices.refresh(index=f"logs-{unique_tenant}-*", allow_no_indices=True, ignore_unavailable=True)
            count = sync.count(index=f"logs-{unique_tenant}-*", allow_no_indices=True,
                               ignore_unavailable=True)["count"]
            if count >= N:
                break
            time.sleep(2)
        assert count == N, pipeline_log.read_text()[-4000:]

        status, found = asyncio.run(_search(settings, kafka_bootstrap, read, q='"sealed op7"', limit="10"))
        assert status == 200, found
        assert found["total"] == 1 and "sealed op7" in found["results"][0]["message"], found
        status, everything = asyncio.run(_search(settings, kafka_bootstrap, read, limit="100"))
        assert status == 200 and everything["total"] == N, everything
    finally:
        pipeline.send_signal(signal.SIGTERM)
        try:
            pipeline.wait(60)
        except subprocess.TimeoutExpired:
            pipeline.kill()
        asyncio.run(delete_topics(kafka_bootstrap, [raw, processed, dlq]))
        sync.close()
        pipeline_log.unlink(missing_ok=True)
    assert pipeline.returncode == 0, "pipeline did not stop cleanly"


def test_operator_commands_as_logharbor_user(node):
    """Disk check and the snapshot round trip (register, snapshot, restore-verify) as ``logharbor``."""
    env = {**os.environ, **node.env()}

    def cli(*args: str) -> str:
        run = subprocess.run([sys.executable, "-m", "ops.cli", *args], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, (args, run.stdout[-3000:], run.stderr[-3000:])
        return run.stdout

    assert "watermarks" in cli("indices", "disk")
    cli("snapshots", "repo", "--location", str(node.home / "node_1" / "snapshots"))
    cli("snapshots", "create", "--wait")
    verified = orjson.loads(cli("snapshots", "verify"))
    assert verified["ok"] is True and verified["restored_docs"] >= N, verified


def test_least_privilege_user_is_refused_the_rest(node):
    # the security index: neither readable nor deletable
    assert lh(node, "GET", "/.opendistro_security/_search")[0] == 403
    assert lh(node, "DELETE", "/.opendistro_security")[0] == 403
    # the security REST API (users, roles) is for all_access only
    assert lh(node, "GET", "/_plugins/_security/api/internalusers")[0] == 403
    assert lh(node, "PUT", "/_plugins/_security/api/roles/mine", {"cluster_permissions": ["*"]})[0] == 403
    # other applications' indices and cluster-wide settings
    assert lh(node, "PUT", "/other-app")[0] == 403
    assert secured_node.request(node, "PUT", "/other-app", admin=True)[0] == 200
    assert lh(node, "GET", "/other-app/_search")[0] == 403
    assert lh(node, "DELETE", "/other-app")[0] == 403
    assert lh(node, "PUT", "/_cluster/settings", {"transient": {"cluster.routing.allocation.enable": "none"}})[0] == 403
    # ... while its own indices are its to use
    assert lh(node, "PUT", "/.logharbor-secured-probe/_doc/1?refresh=true", {"ok": True})[0] == 201
    assert lh(node, "DELETE", "/.logharbor-secured-probe")[0] == 200


def test_client_certificate_is_the_logharbor_user(node):
    """setup.sh's CN=logharbor certificate authenticates as ``logharbor`` (config.yml clientcert domain)."""
    cert = (str(node.certs / "logharbor.pem"), str(node.certs / "logharbor-key.pem"))
    status, body = secured_node.request(node, "GET", "/_plugins/_security/authinfo", cert=cert)
    assert status == 200 and body["user_name"] == "logharbor" and body["roles"] == ["logharbor_service"], body
