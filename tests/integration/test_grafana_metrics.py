"""The Grafana dashboard (ops/grafana/logharbor-metrics.json) queries only metrics the roles really export.

Gateway, pipeline and ui run for real (`logharbor run`, own topics and tenant) and a real
`logharbor shipper` process tails a file into that gateway with its metrics endpoint on; lines
flow until the pipeline has indexed them, then each role's /metrics is scraped and every metric
name any panel queries must be among the names exported.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from logharbor.topics import ensure_topics
from opensearch.client import async_client
from opensearch.keys import KeyStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DASHBOARD = Path(__file__).parents[2] / "ops" / "grafana" / "logharbor-metrics.json"
METRIC = re.compile(r"\b(logharbor_[a-z0-9_]+)")


def queried_metrics(dashboard: dict) -> dict[str, set[str]]:
    """Metric name → titles of the panels whose queries use it."""
    out: dict[str, set[str]] = {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            for name in METRIC.findall(target["expr"]):
                out.setdefault(name, set()).add(panel["title"])
    return out


def exported_names(text: str) -> set[str]:
    """Sample names in a Prometheus text exposition, plus those a TYPE line promises (labelled, no sample yet)."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()[:4]
            names.add(name)
            if kind == "counter":
                names.add(name if name.endswith("_total") else name + "_total")
            elif kind == "histogram":
                names.update({name + "_bucket", name + "_sum", name + "_count"})
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200, url
        return resp.read().decode()


def _value(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name) and re.match(re.escape(name) + r"(\{| )", line))


async def _setup(bootstrap: str, topics: list[str], tenant: str) -> tuple[str, str]:
    await ensure_topics(bootstrap, dict.fromkeys(topics, 1))
    client = async_client()
    try:
        store = KeyStore(client)
        ingest, _ = await store.create(tenant=tenant, source="grafana-test", scopes=["ingest"])
        read, _ = await store.create(tenant=tenant, source="grafana-test", scopes=["read"])
        return ingest, read
    finally:
        await client.close()


def test_dashboard_is_importable_json() -> None:
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] == "logharbor-metrics" and dash["title"] and dash["schemaVersion"] >= 30
    assert "id" not in dash  # an id would clash on import into another Grafana
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    var = {v["name"]: v for v in dash["templating"]["list"]}["datasource"]
    assert var["type"] == "datasource" and var["query"] == "prometheus"
    rows = {p["title"] for p in dash["panels"] if p["type"] == "row"}
    assert rows == {"Gateway", "Pipeline", "Shipper", "UI (query API)"}
    for p in dash["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24 and g["h"] > 0
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}" and p["targets"]
    used = queried_metrics(dash)
    for prefix in ("logharbor_gateway_", "logharbor_pipeline_", "logharbor_shipper_", "logharbor_ui_"):
        assert any(n.startswith(prefix) for n in used), prefix
    for needed in ("logharbor_pipeline_consumer_lag", "logharbor_shipper_spool_bytes",
                   "logharbor_pipeline_dead_lettered_total", "logharbor_gateway_response_seconds_bucket",
                   "logharbor_ui_response_seconds_bucket"):
        assert needed in used, needed


def test_every_queried_metric_is_exported_by_the_running_roles(kafka_bootstrap, os_client, tmp_path,
                                                               unique_tenant) -> None:
    suffix = uuid.uuid4().hex[:8]
    raw, processed = f"lh-graf-raw-{suffix}", f"lh-graf-processed-{suffix}"
    ingest_key, read_key = asyncio.run(_setup(kafka_bootstrap, [raw, processed], unique_tenant))
    gw, ui, pl, sh = _free_port(), _free_port(), _free_port(), _free_port()
    env = {**os.environ, "LOGHARBOR_DATA_DIR": str(tmp_path / "data"), "LOGHARBOR_KAFKA_RAW_TOPIC": raw,
           "LOGHARBOR_KAFKA_PROCESSED_TOPIC": processed, "LOGHARBOR_KAFKA_CONSUMER_GROUP": f"lh-graf-{suffix}",
           "LOGHARBOR_STORAGE_DEFAULT_TENANT": unique_tenant, "LOGHARBOR_PIPELINE_HTTP_PORT": str(pl),
           "LOGHARBOR_PIPELINE_HTTP_HOST": "127.0.0.1"}
    log = tmp_path / "app.log"
    log.write_text("".join(f"2026-01-19 10:00:{i:02d} INFO [grafana] line {i}\n" for i in range(20)))
    cfg = tmp_path / "shipper.yaml"
    cfg.write_text(f"gateway:\n  url: http://127.0.0.1:{gw}\n  api_key: {ingest_key}\n"
                   f"data_dir: {tmp_path / 'shipper'}\nmetrics:\n  listen: 127.0.0.1:{sh}\n"
                   f"sources:\n  - type: file\n    name: app\n    paths: [\"{log}\"]\n    format: app\n"
                   "    start_at: beginning\n")
    run = subprocess.Popen([sys.executable, "-m", "ops.cli", "run", "--gateway-port", str(gw), "--ui-port", str(ui),
                            "--no-lifecycle", "--no-alerter"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, env=env)
    shipper = None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                _scrape(f"http://127.0.0.1:{gw}/metrics")
                _scrape(f"http://127.0.0.1:{ui}/metrics")
                break
            except OSError:
                assert run.poll() is None, run.stdout.read()
                time.sleep(1)
        shipper = subprocess.Popen([sys.executable, "-m", "ops.cli", "shipper", "--config", str(cfg)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        texts: dict[str, str] = {}
        while time.monotonic() < deadline + 60:
            try:
                texts = {role: _scrape(f"http://127.0.0.1:{port}/metrics")
                         for role, port in (("gateway", gw), ("pipeline", pl), ("ui", ui), ("shipper", sh))}
            except OSError:
                time.sleep(1)
                continue
            if (_value(texts["shipper"], "logharbor_shipper_events_sent_total") >= 20
                    and _value(texts["pipeline"], "logharbor_pipeline_indexed_documents_total") >= 20):
                break
            time.sleep(1)
        assert _value(texts["pipeline"], "logharbor_pipeline_indexed_documents_total") >= 20, texts
        req = urllib.request.Request(f"http://127.0.0.1:{ui}/api/v1/logs/search?q=grafana&limit=1",
                                     headers={"Authorization": f"Bearer {read_key}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
        texts["ui"] = _scrape(f"http://127.0.0.1:{ui}/metrics")
        assert 'logharbor_ui_requests_total{route="/api/v1/logs/search",status="200"} 1.0' in texts["ui"]
        exported = set().union(*(exported_names(t) for t in texts.values()))
        used = queried_metrics(json.loads(DASHBOARD.read_text()))
        missing = {name: sorted(panels) for name, panels in used.items() if name not in exported}
        assert not missing, f"queried but not exported: {missing}"
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
