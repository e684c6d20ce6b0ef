"""Compression bombs and endless bodies: each is refused fast, with bounded gateway memory.

The gateway runs as a subprocess so its RSS can be sampled (psutil) while the bomb lands;
after every bomb a good request must still get a 202.

Note on sizes: DEFLATE cannot exceed ~1032:1, so "1 GB from 10 KB" is not possible with a
single gzip layer; the densest honest gzip bomb for 1 GB is ~1 MB, which is what we send.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
import requests
from gateway_support import post, running_gateway

from gateway.testing import GatewayProcess, create_topic, keys

pytestmark = pytest.mark.integration
MB = 1024 * 1024
MAX_RSS_GROWTH = 100 * MB


def gzip_zeros(total: int, chunk: int = MB) -> Iterator[bytes]:
    """A gzip stream of ``total`` zero bytes, produced incrementally (never in memory at once)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * chunk
    for _ in range(total // chunk):
        out = comp.compress(zeros)
        if out:
            yield out
    yield comp.flush()


@pytest.fixture(scope="module")
def one_gb_bomb() -> bytes:
    return b"".join(gzip_zeros(1024 * MB))


@pytest.fixture(scope="module")
def gw(servers, kafka_bootstrap):
    yield from running_gateway({"LOGHARBOR_KAFKA_RAW_TOPIC": create_topic(kafka_bootstrap)})


@pytest.fixture(scope="module")
def key(gw, os_url) -> str:
    token, _ = keys(os_url, "create", tenant="bombtest", source="web", scopes=["ingest"], rate=1e6, burst=1e6)
    return token


class PeakRss:
    """Samples the gateway's RSS every 5 ms in a thread; ``growth`` is peak minus the start."""

    def __init__(self, gw: GatewayProcess) -> None:
        self.gw = gw
        self.start = gw.rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.gw.rss())
            time.sleep(0.005)

    def __enter__(self) -> PeakRss:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()

    @property
    def growth(self) -> int:
        return self.peak - self.start

    def report(self, what: str) -> None:
        print(f"\n{what}: gateway RSS {self.start / MB:.1f} MB, peak growth {self.growth / MB:.1f} MB")


def good(gw: GatewayProcess, key: str) -> int:
    ev = {"timestamp": datetime.now(UTC).isoformat(), "level": "info", "message": "still alive"}
    return post(gw, [ev], key).status_code


def headers(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson", **extra}


def test_gzip_bomb_1gb_is_413_fast_with_bounded_memory(gw, key, one_gb_bomb):
    assert len(one_gb_bomb) < 1.1 * MB
    assert good(gw, key) == 202  # warm up: baseline includes normal working memory
    with PeakRss(gw) as rss:
        started = time.monotonic()
        r = requests.post(
            gw.url + "/ingest", data=one_gb_bomb, headers=headers(key, **{"Content-Encoding": "gzip"}), timeout=60
        )
        elapsed = time.monotonic() - started
    assert r.status_code == 413, r.text
    assert "compression ratio exceeds the limit" in r.json()["error"]
    assert elapsed < 10, elapsed  # typically < 0.5 s; generous for a loaded CI box
    rss.report("bomb")
    assert rss.growth < MAX_RSS_GROWTH, rss.growth
    assert good(gw, key) == 202


def test_ten_thousand_gzip_members_is_413(gw, key):
    body = b"".join(gzip.compress(b'{"raw": "x"}\n') for _ in range(10_000))
    with PeakRss(gw) as rss:
        r = requests.post(
            gw.url + "/ingest", data=body, headers=headers(key, **{"Content-Encoding": "gzip"}), timeout=60
        )
    assert r.status_code == 413 and "more than 64 gzip members" in r.json()["error"]
    rss.report("bomb")
    assert rss.growth < MAX_RSS_GROWTH, rss.growth
    assert good(gw, key) == 202


def test_chunked_body_without_content_length_is_cut_at_the_batch_limit(gw, key):
    def endless() -> Iterator[bytes]:
        line = orjson.dumps({"raw": "y" * 1000}) + b"\n"
        block = line * 1000  # ~1 MB
        for _ in range(60):  # 60 MB offered; the limit is 10 MB
            yield block

    with PeakRss(gw) as rss:
        started = time.monotonic()
        r = requests.post(gw.url + "/ingest", data=endless(), headers=headers(key), timeout=60)
        elapsed = time.monotonic() - started
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in r.request.headers
    assert r.status_code == 413 and "batch limit" in r.json()["error"]
    assert elapsed < 15
    rss.report("bomb")
    assert rss.growth < MAX_RSS_GROWTH, rss.growth
    assert good(gw, key) == 202


def test_chunked_gzip_bomb_without_content_length_is_413(gw, key, one_gb_bomb):
    pieces = (one_gb_bomb[i : i + 65536] for i in range(0, len(one_gb_bomb), 65536))
    with PeakRss(gw) as rss:
        r = requests.post(
            gw.url + "/ingest",
            data=pieces,
            headers=headers(key, **{"Content-Encoding": "gzip"}),
            timeout=120,
        )
    assert r.status_code == 413, r.text
    rss.report("bomb")
    assert rss.growth < MAX_RSS_GROWTH, rss.growth
    assert good(gw, key) == 202


def test_bad_gzip_is_400_and_harmless(gw, key):
    body = gzip.compress(b'{"raw": "ok"}\n')
    corrupt = body[:10] + bytes(b ^ 0xFF for b in body[10:20]) + body[20:]
    r = requests.post(
        gw.url + "/ingest", data=corrupt, headers=headers(key, **{"Content-Encoding": "gzip"}), timeout=30
    )
    assert r.status_code == 400 and "gzip" in r.json()["error"]
    assert good(gw, key) == 202
