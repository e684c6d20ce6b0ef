"""The lookup step against a real PostgreSQL (Debian's package, a private cluster) and a local HTTP server.

PostgreSQL: initdb + pg_ctl from /usr/lib/postgresql/*/bin in a temp dir on a free port (as the
``postgres`` user when the tests run as root: initdb refuses root). ops/test.sh installs the
package. HTTP: an aiohttp app in its own thread (the step blocks its caller's thread for at most
``timeout_s``, exactly as in the pipeline worker).
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from logharbor.envelope import Envelope
from pipeline.enrich.lookup import LookupConfig
from pipeline.event import Event
from pipeline.settings import PipelineSettings
from pipeline.step import Chain

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unenriched(step: str, reason: str) -> float:
    return REGISTRY.get_sample_value("logharbor_pipeline_lookup_unenriched_total",
                                     {"step": step, "reason": reason}) or 0.0


def _ev(service: str) -> Event:
    return Event.from_envelope(Envelope(id="ev-1", tenant="acme", source=service,
                                        received_at="2026-01-19T10:31:00Z", message="m"))


# -- PostgreSQL ---------------------------------------------------------------------------------


class Postgres:
    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            pytest.fail("PostgreSQL server binaries missing: apt-get install postgresql (ops/test.sh installs it)")
        self.bin = os.path.dirname(bins[-1])
        self.dir = tempfile.mkdtemp(prefix="logharbor-pg-")
        self.port = _free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self._run("initdb", "-D", self.data, "-U", "lh", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        self.dsn = f"postgresql://lh@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        proc = subprocess.run([*self.as_user, os.path.join(self.bin, tool), *args], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, f"{tool}: {proc.stdout}\n{proc.stderr}"

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", self.data, "-o", opts, "-l", os.path.join(self.dir, "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    server = Postgres()

    async def seed() -> None:
        conn = await asyncpg.connect(server.dsn)
        try:
            await conn.execute("CREATE TABLE services (name text PRIMARY KEY, team text, owner text, tier int)")
            await conn.executemany("INSERT INTO services VALUES ($1, $2, $3, $4)",
                                   [("web", "frontend", "ann", 1), ("api", "backend", "bob", 0),
                                    ("batch", "data", None, 2)])
        finally:
            await conn.close()

    try:
        asyncio.run(seed())
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(server.dir, ignore_errors=True)


def test_postgres_per_key_cached(pg: Postgres) -> None:
    step = LookupConfig(name="pg_key", key_field="service.name", prefix="labels.", sql={
        "dsn": pg.dsn, "query": "SELECT team, owner, tier FROM services WHERE name = $1"}).build(PipelineSettings())
    doc = step.process(_ev("api")).doc
    assert doc["labels.team"] == "backend" and doc["labels.owner"] == "bob" and doc["labels.tier"] == 0
    assert "labels.owner" not in step.process(_ev("batch")).doc  # NULL columns add nothing
    assert not any(k.startswith("labels.team") for k in step.process(_ev("nope")).doc)
    assert step.remote.cache["nope"][1] is None  # "no such key" is cached too


def test_postgres_whole_table(pg: Postgres) -> None:
    step = LookupConfig(name="pg_table", key_field="service.name", key_column="name",
                        sql={"dsn": pg.dsn, "query": "SELECT name, team FROM services"}).build(PipelineSettings())
    assert step.remote.table is not None and set(step.remote.table) == {"web", "api", "batch"}
    assert step.process(_ev("web")).doc["team"] == "frontend"


def test_postgres_down_events_pass_unenriched_and_counted_then_recover(pg: Postgres) -> None:
    step = LookupConfig(name="pg_down", key_field="service.name", prefix="labels.", timeout_s=1.0,
                        retry_after_s=1.0, ttl_s=0.5, sql={
                            "dsn": pg.dsn, "query": "SELECT team FROM services WHERE name = $1"}
                        ).build(PipelineSettings())
    chain = Chain([step])
    assert chain.run([_ev("web")]).kept[0].doc["labels.team"] == "frontend"
    before = _unenriched("pg_down", "source_down") + _unenriched("pg_down", "timeout")
    pg.stop()
    try:
        time.sleep(0.6)  # the cached row for "web" expires
        started = time.monotonic()
        result = chain.run([_ev("api"), _ev("api"), _ev("batch"), _ev("web")])
        elapsed = time.monotonic() - started
        assert len(result.kept) == 4  # nothing is dropped or held
        assert not any("labels.team" in e.doc for e in result.kept[:3])
        assert result.kept[3].doc["labels.team"] == "frontend"  # stale beats none while the source is down
        after = _unenriched("pg_down", "source_down") + _unenriched("pg_down", "timeout")
        assert after - before == 3
        assert elapsed < 10, elapsed  # one bounded attempt, then back-off: no wait per event
    finally:
        pg.start()
    deadline = time.monotonic() + 20
    team = None
    while team is None and time.monotonic() < deadline:
        time.sleep(0.5)
        team = chain.run([_ev("api")]).kept[0].doc.get("labels.team")
    assert team == "backend"


# -- HTTP -----------------------------------------------------------------------------------------


class HttpServer:
    def __init__(self) -> None:
        self.TABLE = {"web": {"team": "frontend"}, "api": {"team": "backend", "oncall": "bob"}}
        self.hits: dict[str, int] = {}
        self.port = _free_port()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}"

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def one(request: web.Request) -> web.Response:
            key = request.match_info["key"]
            self.hits[key] = self.hits.get(key, 0) + 1
            if request.headers.get("Authorization") != "Bearer s3cret":
                return web.json_response({"error": "no"}, status=401)
            row = self.TABLE.get(key)
            return web.json_response(row) if row else web.json_response({"error": "unknown"}, status=404)

        async def slow(request: web.Request) -> web.Response:
            await asyncio.sleep(1.5)
            return web.json_response({"team": "late"})

        async def table(request: web.Request) -> web.Response:
            self.hits["table"] = self.hits.get("table", 0) + 1
            return web.json_response([{"name": k, **v} for k, v in self.TABLE.items()])

        app = web.Application()
        app.router.add_get("/services/{key}", one)
        app.router.add_get("/slow/{key}", slow)
        app.router.add_get("/table", table)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", self.port).start())
        ready.set()
        self.loop.run_forever()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def http() -> Iterator[HttpServer]:
    server = HttpServer()
    try:
        yield server
    finally:
        server.close()


def test_http_per_key_with_headers_ttl_cache_and_404(http: HttpServer) -> None:
    step = LookupConfig(name="http_key", key_field="service.name", prefix="labels.",
                        url=http.url + "/services/{key}", headers={"Authorization": "Bearer s3cret"}
                        ).build(PipelineSettings())
    for _ in range(3):
        doc = step.process(_ev("api")).doc
        assert doc["labels.team"] == "backend" and doc["labels.oncall"] == "bob"
    assert http.hits["api"] == 1  # cached for ttl_s
    for _ in range(2):
        assert "labels.team" not in step.process(_ev("ghost")).doc
    assert http.hits["ghost"] == 1  # a 404 is cached (negative_ttl_s)


def test_http_whole_table_refreshes_after_ttl(http: HttpServer) -> None:
    before = http.hits.get("table", 0)
    step = LookupConfig(name="http_table", key_field="service.name", key_column="name", ttl_s=0.3,
                        url=http.url + "/table").build(PipelineSettings())
    assert step.process(_ev("web")).doc["team"] == "frontend"
    assert http.hits["table"] == before + 1
    time.sleep(0.4)
    step.process(_ev("web"))
    deadline = time.monotonic() + 5
    while http.hits["table"] < before + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert http.hits["table"] == before + 2  # refreshed in the background, events never waited


def test_http_timeout_passes_the_event_then_the_late_answer_is_cached(http: HttpServer) -> None:
    # the event waits 0.4 s; the fetch itself may take up to 5 x timeout_s = 2 s (the server answers in 1.5 s)
    step = LookupConfig(name="http_slow", key_field="service.name", timeout_s=0.4, retry_after_s=30,
                        url=http.url + "/slow/{key}").build(PipelineSettings())
    chain = Chain([step])
    before = _unenriched("http_slow", "timeout")
    started = time.monotonic()
    result = chain.run([_ev("web"), _ev("web")])
    assert time.monotonic() - started < 1.4  # waited 0.4 s once, not per event, not for the 1.5 s answer
    assert all("team" not in e.doc for e in result.kept)
    assert _unenriched("http_slow", "timeout") - before == 2
    time.sleep(2.0)
    assert chain.run([_ev("web")]).kept[0].doc["team"] == "late"


def test_http_source_down_is_counted_and_backs_off() -> None:
    dead = f"http://127.0.0.1:{_free_port()}/services/{{key}}"
    step = LookupConfig(name="http_down", key_field="service.name", url=dead, retry_after_s=60, timeout_s=5
                        ).build(PipelineSettings())  # a refused connection fails at once; 5 s only under load
    chain = Chain([step])
    before = _unenriched("http_down", "source_down")
    result = chain.run([_ev("a"), _ev("b"), _ev("c")])
    assert len(result.kept) == 3 and not result.failed
    assert _unenriched("http_down", "source_down") - before == 3
    assert step.remote.is_down() and "ClientConnectorError" in (step.remote.last_error or "")


@pytest.mark.parametrize("extra", [{}, {"path": "/x.csv", "url": "http://h/{key}"}, {"url": "ftp://h/t"}])
def test_config_needs_exactly_one_http_source(extra: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="lookup"):
        LookupConfig(key_field="service.name", **extra)
