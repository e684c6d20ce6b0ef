"""Export streams in constant memory: 50,000 rows in each format through a ui *subprocess*
whose RSS is sampled during the download (psutil), so the bound is on the real server."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
import orjson
import psutil
import pytest
from test_api_support import corpus, delete_tenant, ensure_templates, index_docs, new_tenant, utcnow

from logharbor.config import OpenSearchSettings
from opensearch.client import async_client
from opensearch.keys import KeyStore

pytestmark = pytest.mark.integration

N = 200_000
# The whole 200k-row export is ~100 MB on the wire and far more as Python objects; a server that
# buffered it would grow by well over this. Streaming stays within a few MB of its baseline.
RSS_GROWTH_LIMIT = 40 * 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)


def _start_ui(port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ui.cli", "--port", str(port), "--log-level", "WARNING"],
                            cwd=ROOT, env=env)


@pytest.fixture(scope="module")
async def export_env(os_client, os_url, kafka_bootstrap):
    ensure_templates(os_client)
    tenant = new_tenant()
    index_docs(os_client, tenant, corpus(tenant, N, utcnow()))
    client = async_client(OpenSearchSettings(url=os_url))
    key, _ = await KeyStore(client).create(tenant=tenant, source="tests", scopes=["read"])
    await client.close()
    port = _free_port()
    env = {**os.environ, "LOGHARBOR_OPENSEARCH_URL": os_url, "LOGHARBOR_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "LOGHARBOR_UI_ROLLUP_INTERVAL_S": "0"}
    proc = _start_ui(port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as s:
            for _ in range(100):
                try:
                    async with s.get(base + "/api/v1/openapi.json") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("ui subprocess did not start")
        yield base, {"Authorization": f"Bearer {key}"}, proc
    finally:
        proc.terminate()
        proc.wait(10)
        delete_tenant(os_client, tenant)


async def _download(base: str, headers: dict[str, str], params: dict[str, str]) -> tuple[aiohttp.ClientResponse, bytes]:
    """Stream the body; keep only the first and last 64 KB plus line count (the test stays small too)."""
    lines = 0
    head = b""
    tail = b""
    async with aiohttp.ClientSession() as s, s.get(base + "/api/v1/logs/export", params=params,
                                                    headers=headers) as r:
        async for chunk in r.content.iter_chunked(1 << 16):
            lines += chunk.count(b"\n")
            if len(head) < 1 << 16:
                head += chunk
            tail = (tail + chunk)[-(1 << 16):]
        r.lines = lines  # type: ignore[attr-defined]
        return r, head + b"\x00" + tail


@pytest.mark.parametrize("fmt", ["ndjson", "json", "csv", "text"])
async def test_export_50k_rows_streams_in_bounded_memory(export_env, fmt):
    base, headers, proc = export_env
    # Warm-up: imports, connection pools, a few batches in flight (prefetch); 10% of the rows.
    await _download(base, headers, {"format": fmt, "limit": "5000"})
    baseline = psutil.Process(proc.pid).memory_info().rss
    sampler = RssSampler(proc.pid)
    sampler.start()
    t0 = time.perf_counter()
    resp, edges = await _download(base, headers, {"format": fmt})
    elapsed = time.perf_counter() - t0
    sampler.running = False
    sampler.join()
    assert resp.status == 200
    assert "attachment" in resp.headers["Content-Disposition"]
    head, _, tail = edges.partition(b"\x00")
    if fmt == "ndjson":
        assert resp.lines == N
        assert "event" in orjson.loads(head.split(b"\n", 1)[0])
    elif fmt == "json":
        assert head.startswith(b"[\n{") and tail.endswith(b"}\n]\n")
        assert resp.lines == N + 2  # after "[", between rows, and two in the closing "\n]\n"
    elif fmt == "csv":
        assert resp.lines == N + 1
        header = next(csv.reader(io.StringIO(head.decode(errors="replace"))))
        assert header == ["@timestamp", "log.level", "service.name", "host.name", "message"]
    else:
        assert resp.lines == N
    growth = sampler.peak - baseline
    print(f"\nexport {fmt}: {N} rows in {elapsed:.2f}s ({N / elapsed:,.0f} rows/s), "
          f"RSS baseline {baseline / 2**20:.1f} MiB, peak growth {growth / 2**20:.1f} MiB")
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / 2**20:.1f} MiB during a {fmt} export"
