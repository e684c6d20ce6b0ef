"""Screenshots of every dashboard page with demo data → ``docs/screenshots/*.png``.

Seeds a fresh demo tenant (``ops.demo.ecs_documents`` bulk-indexed into its data streams),
creates an admin key, serves the ui in-process on a free loopback port and drives Debian's
chromium through Playwright. Needs the OpenSearch and Kafka named by
``LOGHARBOR_OPENSEARCH_URL`` / ``LOGHARBOR_KAFKA_BOOTSTRAP``.

    python -m ops.screenshots [--out docs/screenshots] [--keep]

The helpers (:func:`seed_tenant`, :class:`UIServer`, :func:`launch_chromium`) are shared with
the browser tests in ``tests/e2e``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def stream_for(tenant: str, doc: dict[str, Any]) -> str:
    """The data stream the pipeline routes a document to (by level → retention class)."""
    level = (doc.get("log") or {}).get("level")
    cls = {"ERROR": "errors", "FATAL": "errors", "DEBUG": "debug"}.get(level, "standard")
    return f"logs-{tenant}-{cls}"


def index_documents(client: Any, tenant: str, docs: Iterable[dict[str, Any]]) -> int:
    """Bulk-create ECS documents (``_id`` = ``event.id``, as the pipeline does) and refresh."""
    from opensearchpy import helpers

    def actions() -> Iterable[dict[str, Any]]:
        for doc in docs:
            doc.setdefault("labels", {})["tenant"] = tenant
            yield {"_op_type": "create", "_index": stream_for(tenant, doc), "_id": doc["event"]["id"], "_source": doc}

    ok, _ = helpers.bulk(client, actions(), chunk_size=2000, request_timeout=120, stats_only=True)
    client.indices.refresh(index=f"logs-{tenant}-*")
    return ok


def seed_tenant(client: Any, tenant: str, hours: float = 24 * 7, requests: int = 20000, seed: int = 42) -> int:
    """Templates applied, then ~``requests`` demo requests over the last ``hours``."""
    from opensearch.bootstrap import bootstrap
    from ops.demo import ecs_documents

    bootstrap(client)
    end = datetime.now(UTC)
    # Recent hour denser, so the live overview and "last 15 minutes" have something to show.
    docs = list(ecs_documents(end - timedelta(hours=hours), end, requests, seed))
    incident = (end - timedelta(minutes=25), end - timedelta(minutes=17))
    docs += list(ecs_documents(end - timedelta(hours=1), end, max(100, requests // 100), seed + 1, burst=incident))
    return index_documents(client, tenant, docs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UIServer:
    """The real ui app (``ui.app.create_app``) on a loopback port, in a thread with its own loop."""

    def __init__(self, os_url: str, kafka_bootstrap: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._os_url, self._kafka = os_url, kafka_bootstrap
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="ui-server", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced by start()
            self.error = exc
            self._ready.set()

    async def _serve(self) -> None:
        from aiohttp import web

        from logharbor.config import KafkaSettings, OpenSearchSettings
        from ui.app import create_app
        from ui.settings import UISettings

        app = create_app(UISettings(heartbeat_s=1.0, port=self.port),
                         opensearch=OpenSearchSettings(url=self._os_url),
                         kafka=KafkaSettings(bootstrap=self._kafka))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def start(self) -> UIServer:
        self._thread.start()
        self._ready.wait(60)
        if self.error:
            raise RuntimeError(f"ui server failed to start: {self.error!r}") from self.error
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def sign_in(page: Any, base: str, key: str) -> None:
    page.goto(base + "/login")
    page.fill("#api_key", key)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/search**")


PAGES: list[tuple[str, str, str | None]] = [  # (file name, path, selector to wait for)
    ("search", "/search?range=24h", "#histogram svg"),
    ("search-errors", "/search?range=7d&level=ERROR&level=FATAL&q=service.name:orders", "#histogram svg"),
    ("live-tail", "/tail", "#tail-status.status-ok"),
    ("overview", "/dashboard", "#panel-rate svg"),
    ("analytics-errors", "/analytics?tab=errors&range=7d", "#panel-top-errors .hbars"),
    ("analytics-performance", "/analytics?tab=performance&range=7d", "#panel-latency table"),
    ("analytics-activity", "/analytics?tab=activity&range=7d", "#panel-week-heatmap svg"),
    ("analytics-services", "/analytics?tab=services&range=7d", "#panel-service-volume svg"),
    ("saved", "/saved", None),
    ("admin", "/admin", None),
    ("bad-query", "/search?q=level:ERROR%20AND%20(service:api", "#search-error"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--keep", action="store_true", help="keep the demo tenant's data streams afterwards")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from logharbor.config import KafkaSettings, OpenSearchSettings
    from opensearch.client import async_client, sync_client
    from opensearch.keys import KeyStore

    os_settings, kafka = OpenSearchSettings(), KafkaSettings()
    client = sync_client(os_settings)
    tenant = "demo" + uuid.uuid4().hex[:6]
    n = seed_tenant(client, tenant)
    print(f"seeded {n} events into tenant {tenant}", file=sys.stderr)

    async def make_key() -> str:
        ac = async_client(os_settings)
        try:
            key, _ = await KeyStore(ac).create(tenant=tenant, source="screenshots", scopes=["admin"],
                                               description="ops/screenshots.py")
            await KeyStore(ac).create(tenant=tenant, source="web-01", scopes=["ingest"], description="nginx hosts")
            return key
        finally:
            await ac.close()

    key = asyncio.run(make_key())
    server = UIServer(os_settings.url, kafka.bootstrap).start()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            for theme in ("light", "dark"):
                ctx = browser.new_context(viewport={"width": 1366, "height": 768}, color_scheme=theme)
                page = ctx.new_page()
                sign_in(page, server.url, key)
                if theme == "light":
                    page.goto(server.url + "/search?range=24h")
                    _save_queries(page, server.url)
                shots = PAGES if theme == "light" else [p for p in PAGES if p[0] in ("search", "overview")]
                for name, path, wait in shots:
                    page.goto(server.url + path)
                    if wait:
                        page.wait_for_selector(wait, timeout=15_000)
                    if name == "live-tail":
                        publish_in_thread(kafka.bootstrap, kafka.processed_topic, tenant, 25)
                        page.wait_for_selector("#tail-body tr", timeout=10_000)
                        page.wait_for_timeout(1000)
                    if name == "overview":  # the live card counts what is published from now on
                        for _ in range(4):
                            publish_in_thread(kafka.bootstrap, kafka.processed_topic, tenant, 30)
                            page.wait_for_timeout(1000)
                        page.wait_for_selector("#live-volume svg", timeout=10_000)
                    page.wait_for_timeout(400)
                    suffix = "" if theme == "light" else "-dark"
                    page.screenshot(path=str(args.out / f"{name}{suffix}.png"), full_page=False)
                if theme == "light":
                    page.goto(server.url + "/search?range=7d&level=ERROR&q=error.stack_trace%20EXISTS")
                    page.click("#results .row-link >> nth=0")
                    page.wait_for_selector("#context table", timeout=15_000)
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(args.out / "event.png"), full_page=False)
                    page.goto(server.url + "/login")
                ctx.close()
            browser.close()
    finally:
        server.stop()
        if not args.keep:
            client.indices.delete_data_stream(name=f"logs-{tenant}-*", ignore=[404])
            for index in (".logharbor-saved-queries", ".logharbor-keys"):  # the demo tenant's keys and queries
                client.delete_by_query(index=index, body={"query": {"term": {"tenant": tenant}}},
                                       params={"refresh": "true", "ignore_unavailable": "true"})
        client.close()
    print(f"screenshots written to {args.out}", file=sys.stderr)
    return 0


def publish_in_thread(bootstrap: str, topic: str, tenant: str, n: int) -> None:
    """Publish ``n`` fresh demo documents the way the pipeline does (with ``data_stream.name``).

    In a thread of its own: Playwright's sync API owns the main thread's event loop."""
    import orjson

    from ops.demo import ecs_documents

    now = datetime.now(UTC)
    docs = sorted(ecs_documents(now - timedelta(seconds=30), now, n, seed=7), key=lambda d: d["@timestamp"])

    async def go() -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for doc in docs:
                doc["data_stream"] = {"name": stream_for(tenant, doc)}
                doc.setdefault("labels", {})["tenant"] = tenant
                await producer.send_and_wait(topic, orjson.dumps(doc), key=doc["service"]["name"].encode())
        finally:
            await producer.stop()

    t = threading.Thread(target=lambda: asyncio.run(go()))
    t.start()
    t.join(60)


def _save_queries(page: Any, base: str) -> None:
    """Two saved queries so the saved-queries page and the search page's quick list are not empty."""
    for name, path, desc in (("Checkout failures", "/search?range=24h&q=payment%20declined&level=ERROR",
                              "Declined payments at checkout"),
                             ("Auth failures", "/search?range=24h&q=service.name:auth%20AND%20%22login%20failed%22",
                              "Bad passwords and locked accounts")):
        page.goto(base + path)
        page.click(".save-box summary")
        page.fill("#save-form input[name=name]", name)
        page.fill("#save-form input[name=description]", desc)
        page.click("#save-form button[type=submit]")
        page.wait_for_url("**/saved**")


if __name__ == "__main__":
    sys.exit(main())
