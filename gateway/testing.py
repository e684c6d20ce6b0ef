"""Helpers for the gateway's integration tests and benchmark: real processes, real Kafka.

Lives in the package (not tests/) so ops/bench/gateway.py can share it. Nothing here fakes
a dependency: a GatewayProcess is ``logharbor gateway`` in a subprocess, topics are created
on the real broker, keys in the real ``.logharbor-keys`` index.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import psutil

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine in a private loop (never touches the global loop pytest-asyncio owns)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unique_topic(prefix: str = "lh-test-gw") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_topic(bootstrap: str, name: str | None = None, partitions: int = 3) -> str:
    name = name or unique_topic()
    from logharbor.topics import ensure_topics

    run_async(ensure_topics(bootstrap, {name: partitions}))
    return name


async def _read_topic(bootstrap: str, topic: str, timeout_s: float) -> list[Any]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + timeout_s
        while not parts and time.monotonic() < deadline:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(parts or [])]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out: list[Any] = []
        remaining = {tp for tp in tps if end[tp] > 0}
        while remaining and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for tp, records in batch.items():
                out.extend(records)
                if records and records[-1].offset + 1 >= end[tp]:
                    remaining.discard(tp)
        return out
    finally:
        await consumer.stop()


def read_topic(bootstrap: str, topic: str, timeout_s: float = 60.0) -> list[Any]:
    """Every record currently in ``topic`` (up to the end offsets at call time)."""
    return run_async(_read_topic(bootstrap, topic, timeout_s))


async def _key_op(os_url: str, op: str, *args: Any, **kwargs: Any) -> Any:
    from logharbor.config import OpenSearchSettings
    from opensearch.client import async_client
    from opensearch.keys import KeyStore

    client = async_client(OpenSearchSettings(url=os_url))
    try:
        return await getattr(KeyStore(client), op)(*args, **kwargs)
    finally:
        await client.close()


def keys(os_url: str, op: str, *args: Any, **kwargs: Any) -> Any:
    """Call a KeyStore method synchronously: ``keys(url, "create", tenant=..., ...)``."""
    return run_async(_key_op(os_url, op, *args, **kwargs))


class GatewayProcess:
    """``logharbor gateway`` as a subprocess on a free port, with its own env overrides."""

    def __init__(
        self, port: int | None = None, env: dict[str, str] | None = None, workers: int = 1, repo: Path | None = None
    ) -> None:
        """``repo``: run the gateway code of another checkout (a benchmark's "before"); default this one."""
        self.port = port or free_port()
        self.workers = workers
        self.repo = repo or REPO
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        if repo is not None:
            self.env["PYTHONPATH"] = str(repo)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="lh-gateway-", suffix=".log", delete=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> GatewayProcess:
        cmd = [sys.executable, "-m", "ops.cli", "gateway", "--port", str(self.port), "--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, cwd=self.repo, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}: {self.output()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"gateway did not answer /health within {timeout_s} s: {self.output()[-3000:]}")

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/ready", timeout=3) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError("gateway not ready")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def rss(self) -> int:
        """Resident memory of the gateway (and its workers), bytes."""
        assert self.proc is not None
        p = psutil.Process(self.proc.pid)
        total = p.memory_info().rss
        for child in p.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    def kill(self) -> None:
        """SIGKILL: the crash case (no drain, no flush)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(self.proc.pid).children(recursive=True):
                    child.kill()
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM and wait: the graceful case; returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.proc.returncode or 0)

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)
