"""The alert builder in headless chromium against the real ui, evaluator and OpenSearch.

Create a rule through the builder's four steps (the live preview shows the query's count), see it
fire on the overview page's active-alerts panel, silence it from the rule page and see the
overview say so. ERROR events are indexed "now" throughout, so the condition keeps holding.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import playwright.sync_api as playwright_sync  # dev dependency; Chromium from `apt-get install chromium`
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


class Alerter:
    """``run_alerter`` for one tenant in a thread with its own loop (clock watermark, fast ticks)."""

    def __init__(self, os_url: str, tenant: str) -> None:
        self.os_url, self.tenant = os_url, tenant
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from alerting.service import run_alerter
        from alerting.settings import AlertingSettings
        from logharbor.config import OpenSearchSettings

        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.stop_event = asyncio.Event()
            await run_alerter(AlertingSettings(tenants=[self.tenant], watermark="clock", tick_s=0.5, settle_s=0.5,
                                               streaming=False), self.stop_event,
                              opensearch=OpenSearchSettings(url=self.os_url))

        self.loop.run_until_complete(main())

    def start(self) -> Alerter:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)


class Emitter:
    """Index a few ERROR events stamped now, every half second, until stopped."""

    def __init__(self, os_client: Any, tenant: str) -> None:
        self.client, self.tenant = os_client, tenant
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self.done.is_set():
            ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            body = []
            for _ in range(5):
                i += 1
                body += [{"create": {"_index": f"logs-{self.tenant}-standard"}},
                         {"@timestamp": ts, "log": {"level": "ERROR"}, "service": {"name": "checkout"},
                          "message": f"payment gateway timeout {i}", "labels": {"tenant": self.tenant}}]
            self.client.bulk(body=body, refresh="true")
            self.done.wait(0.5)

    def start(self) -> Emitter:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.done.set()
        self.thread.join(10)


@pytest.fixture
def stack(os_client, os_url, kafka_bootstrap) -> Iterator[dict[str, Any]]:
    from logharbor.config import OpenSearchSettings
    from opensearch.alerts_store import LEASES, OUTBOX, RULES, SILENCES, STATE
    from opensearch.bootstrap import bootstrap
    from opensearch.client import async_client
    from opensearch.keys import KeyStore
    from ops.screenshots import CHROMIUM, UIServer, launch_chromium

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (./ops/test.sh does it as root)")
    tenant = "e2ea" + uuid.uuid4().hex[:8]
    bootstrap(os_client)

    async def make_key() -> str:
        client = async_client(OpenSearchSettings(url=os_url))
        try:
            return (await KeyStore(client).create(tenant=tenant, source="e2e", scopes=["admin"]))[0]
        finally:
            await client.close()

    key = asyncio.run(make_key())
    emitter = Emitter(os_client, tenant).start()
    server = UIServer(os_url, kafka_bootstrap).start()
    alerter = Alerter(os_url, tenant).start()
    pw = playwright_sync.sync_playwright().start()
    browser = launch_chromium(pw)
    try:
        yield {"tenant": tenant, "key": key, "url": server.url, "browser": browser}
    finally:
        browser.close()
        pw.stop()
        alerter.stop()
        server.stop()
        emitter.stop()
        rules = os_client.search(index=RULES, body={"query": {"term": {"tenant": tenant}}, "_source": False},
                                 params={"ignore_unavailable": "true"})["hits"]["hits"]
        if rules:
            os_client.delete_by_query(index=LEASES, body={"query": {"ids": {"values": [h["_id"] for h in rules]}}},
                                      params={"refresh": "true", "conflicts": "proceed"})
        for index in (RULES, STATE, OUTBOX, SILENCES, ".logharbor-keys"):
            os_client.delete_by_query(index=index, body={"query": {"term": {"tenant": tenant}}},
                                      params={"refresh": "true", "ignore_unavailable": "true", "conflicts": "proceed"})
        os_client.indices.delete_data_stream(name=f"logs-{tenant}-*", ignore=[404])


def test_builder_creates_a_rule_that_fires_on_the_overview_and_can_be_silenced(stack) -> None:
    ctx = stack["browser"].new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = stack["url"]
    try:
        page.goto(base + "/login")
        page.fill("#api_key", stack["key"])
        page.click("#login-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/search.*"))

        page.goto(base + "/alerts/new")
        # Step 1 with the live preview of the query's count over the last hours.
        page.fill("#alert-q", "level:ERROR AND service:checkout")
        page.wait_for_function("() => Number(document.getElementById('alert-preview').dataset.total) > 0",
                               timeout=20_000)
        assert re.search(r"Preview: \d+ matching events", page.text_content("#alert-preview") or "")
        page.fill("#alert-threshold", "3")
        page.fill("input[name=window]", "10s")
        page.fill("#alert-every", "2s")
        page.fill("#alert-name", "Checkout errors (e2e)")
        page.click("#alert-save")
        page.wait_for_url(re.compile(r".*/alerts/[A-Za-z0-9_.-]+$"))
        rule_url = page.url

        # It fires: the overview page's active-alerts panel shows it.
        page.goto(base + "/dashboard")
        firing = page.locator("#active-alerts li.alert-firing", has_text="Checkout errors (e2e)")
        firing.wait_for(timeout=45_000)
        assert firing.locator(".silenced-badge").count() == 0

        # Silence it from the rule page; the overview says silenced.
        page.goto(rule_url)
        assert page.text_content("#rule-state") == "firing"
        page.fill("#silence-form input[name=comment]", "e2e: known issue")
        page.click("#silence-button")
        page.wait_for_url(re.compile(r".*/alerts/[A-Za-z0-9_.-]+$"))
        page.goto(base + "/dashboard")
        page.locator("#active-alerts li.alert-firing.silenced", has_text="Checkout errors (e2e)").wait_for(
            timeout=15_000)
        page.goto(base + "/alerts")
        assert "e2e: known issue" in (page.text_content("#silence-list") or "")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not page.locator("#alert-list").count():
            time.sleep(0.1)
        assert page.locator("#alert-list tr[data-state=firing]").count() == 1
        assert not errors, errors
    finally:
        ctx.close()
