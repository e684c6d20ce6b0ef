"""`logharbor run --demo`: gateway, pipeline and ui in one process with demo logs flowing through
real shipper processes — the newcomer's first minutes, end to end against real servers."""

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

import psutil
import pytest

from logharbor.topics import ensure_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, key: str) -> dict:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


async def _create_topics(bootstrap: str, names: list[str]) -> None:
    await ensure_topics(bootstrap, dict.fromkeys(names, 2))


def test_run_demo_brings_a_living_system(os_client, kafka_bootstrap, tmp_path, unique_tenant):
    suffix = uuid.uuid4().hex[:8]
    raw, processed = f"lh-run-raw-{suffix}", f"lh-run-processed-{suffix}"
    asyncio.run(_create_topics(kafka_bootstrap, [raw, processed]))
    gw, ui, pl = _free_port(), _free_port(), _free_port()
    env = {**os.environ, "LOGHARBOR_DATA_DIR": str(tmp_path), "LOGHARBOR_KAFKA_RAW_TOPIC": raw,
           "LOGHARBOR_KAFKA_PROCESSED_TOPIC": processed, "LOGHARBOR_KAFKA_CONSUMER_GROUP": f"lh-run-{suffix}",
           "LOGHARBOR_STORAGE_DEFAULT_TENANT": unique_tenant, "LOGHARBOR_PIPELINE_HTTP_PORT": str(pl)}
    proc = subprocess.Popen([sys.executable, "-m", "ops.cli", "run", "--demo", "--gateway-port", str(gw),
                             "--ui-port", str(ui), "--no-lifecycle"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    output: list[str] = []
    try:
        key = None
        deadline = time.monotonic() + 60
        while key is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "logharbor run exited early:\n" + "".join(output)
            output.append(line)
            m = re.search(r"with this key \(shown once\): (lh_live_\S+)", line)
            key = m.group(1) if m else None
        assert key, "no sign-in key printed:\n" + "".join(output)
        sources: set[str] = set()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(sources) < 4:
            body = _get(f"http://127.0.0.1:{ui}/api/v1/sources", key)
            sources = {s["source"] for s in body["sources"] if s["events_last_hour"] > 0}
            time.sleep(2)
        assert sources >= {"web-api", "orders", "auth", "payments"}, sources
        found: dict = {"total": 0}
        while time.monotonic() < deadline + 60 and not found["total"]:  # errors come in bursts
            found = _get(f"http://127.0.0.1:{ui}/api/v1/logs/search?q=level:ERROR&limit=5", key)
            time.sleep(2)
        assert found["total"] > 0 and all(r["level"] == "ERROR" for r in found["results"])
        children = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        assert len(children) >= 4  # the four demo shippers are real processes
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        for ds in os_client.indices.get_data_stream(name=f"logs-{unique_tenant}-*")["data_streams"]:
            os_client.indices.delete_data_stream(name=ds["name"])
    assert proc.returncode == 0, "".join(output)
    time.sleep(1)
    assert not [c for c in children if psutil.pid_exists(c) and psutil.Process(c).status() != psutil.STATUS_ZOMBIE]
