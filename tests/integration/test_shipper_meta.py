"""Shipper host metadata end to end: `meta:` per shipper and per source plus the detected host ip,
through a real shipper process, gateway, Kafka and pipeline (`logharbor run`), into ECS fields."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest

from logharbor.topics import ensure_topics
from opensearch.client import async_client
from opensearch.keys import KeyStore
from shipper.meta import detect_host_ips

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _setup(bootstrap: str, topics: list[str], tenant: str) -> str:
    await ensure_topics(bootstrap, dict.fromkeys(topics, 1))
    client = async_client()
    try:
        key, _ = await KeyStore(client).create(tenant=tenant, source="meta-test", scopes=["ingest"])
        return key
    finally:
        await client.close()


def test_meta_and_host_ip_land_in_ecs_fields(kafka_bootstrap, os_client, tmp_path, unique_tenant) -> None:
    suffix = uuid.uuid4().hex[:8]
    raw, processed = f"lh-meta-raw-{suffix}", f"lh-meta-processed-{suffix}"
    key = asyncio.run(_setup(kafka_bootstrap, [raw, processed], unique_tenant))
    gw, ui = _free_port(), _free_port()
    env = {**os.environ, "LOGHARBOR_DATA_DIR": str(tmp_path / "data"), "LOGHARBOR_KAFKA_RAW_TOPIC": raw,
           "LOGHARBOR_KAFKA_PROCESSED_TOPIC": processed, "LOGHARBOR_KAFKA_CONSUMER_GROUP": f"lh-meta-{suffix}",
           "LOGHARBOR_STORAGE_DEFAULT_TENANT": unique_tenant, "LOGHARBOR_PIPELINE_HTTP_PORT": str(_free_port())}
    api, worker = tmp_path / "api.log", tmp_path / "worker.log"
    api.write_text("2026-01-19 10:00:00 INFO [api] served\n")
    worker.write_text("2026-01-19 10:00:01 INFO [worker] done\n")
    cfg = tmp_path / "shipper.yaml"
    cfg.write_text(
        f"gateway:\n  url: http://127.0.0.1:{gw}\n  api_key: {key}\ndata_dir: {tmp_path / 'shipper'}\n"
        "meta:\n  datacenter: fra1\n  region: eu-central-1\n  environment: staging\n  app_version: 2.4.1\n"
        "sources:\n"
        f"  - type: file\n    name: api\n    paths: [\"{api}\"]\n    format: app\n    start_at: beginning\n"
        f"  - type: file\n    name: worker\n    paths: [\"{worker}\"]\n    format: app\n    start_at: beginning\n"
        "    meta:\n      app_version: 3.0.0\n      labels: {queue: emails}\n")
    run = subprocess.Popen([sys.executable, "-m", "ops.cli", "run", "--gateway-port", str(gw), "--ui-port", str(ui),
                            "--no-lifecycle", "--no-alerter"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=env)
    shipper = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", gw)) == 0:
                    break
            assert run.poll() is None
            time.sleep(0.5)
        shipper = subprocess.Popen([sys.executable, "-m", "ops.cli", "shipper", "--config", str(cfg)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        docs: dict[str, dict] = {}
        deadline = time.monotonic() + 90
        while len(docs) < 2 and time.monotonic() < deadline:
            time.sleep(1)
            if not os_client.indices.exists(index=f"logs-{unique_tenant}-*"):
                continue
            os_client.indices.refresh(index=f"logs-{unique_tenant}-*")
            hits = os_client.search(index=f"logs-{unique_tenant}-*", body={"size": 10})["hits"]["hits"]
            docs = {h["_source"]["log"]["file"]["path"]: h["_source"] for h in hits}
        assert set(docs) == {str(api), str(worker)}, docs
        a, w = docs[str(api)], docs[str(worker)]
        assert a["logharbor"]["datacenter"] == "fra1" and a["cloud"]["region"] == "eu-central-1"
        assert a["labels"]["environment"] == "staging" and a["service"]["environment"] == "staging"
        assert a["service"]["version"] == "2.4.1" and w["service"]["version"] == "3.0.0"  # the source's wins
        assert w["labels"]["queue"] == "emails" and w["logharbor"]["datacenter"] == "fra1"
        ips = detect_host_ips()
        if ips:  # sandboxes without an interface address have nothing to detect
            got = a["host"]["ip"]
            assert (got if isinstance(got, list) else [got]) == ips
            hit = os_client.count(index=f"logs-{unique_tenant}-*", body={"query": {"term": {"host.ip": ips[0]}}})
            assert hit["count"] == 2  # mapped as ip: a term query on the address finds both
    finally:
        for proc in (shipper, run):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for ds in os_client.indices.get_data_stream(name=f"logs-{unique_tenant}-*")["data_streams"]:
            os_client.indices.delete_data_stream(name=ds["name"])
