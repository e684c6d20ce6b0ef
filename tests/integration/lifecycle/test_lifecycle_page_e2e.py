"""The lifecycle page in headless chromium (Debian's /usr/bin/chromium via Playwright), against
the test's own OpenSearch node (it has a snapshot repository): the indices panel lists the
tenant's backing indices with their next action, retention is edited with a confirmation and
audited, disk shows the node against its watermarks, and "Verify" runs a real restore test.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import playwright.sync_api as playwright_sync  # dev dependency; Chromium from `apt-get install chromium`
import pytest

from logharbor.config import OpenSearchSettings
from opensearch import lifecycle_audit, retention, snapshots
from opensearch.bootstrap import bootstrap
from opensearch.client import async_client
from opensearch.keys import KeyStore

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


def test_lifecycle_page_edit_retention_and_start_a_verify(private_node, kafka_bootstrap):
    from ops.screenshots import CHROMIUM, UIServer, launch_chromium

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (./ops/test.sh does it as root)")
    client = private_node.client()
    bootstrap(client)
    tenant = "lc" + uuid.uuid4().hex[:8]
    stream = f"logs-{tenant}-standard"
    for g in range(2):
        body = []
        for i in range(100):
            body += [{"create": {"_index": stream}}, {"@timestamp": "2026-11-30T10:00:00Z", "message": f"{g} {i}"}]
        assert not client.bulk(body=body, refresh="true")["errors"]
        if g == 0:
            client.indices.rollover(alias=stream)
    snapshots.wait(client, "logharbor", snapshots.create(client, "logharbor", trigger="test"), 120)

    async def make_key() -> str:
        ac = async_client(OpenSearchSettings(url=private_node.url))
        try:
            return (await KeyStore(ac).create(tenant=tenant, source="e2e", scopes=["admin", "operator"]))[0]
        finally:
            await ac.close()

    key = asyncio.run(make_key())
    server = UIServer(private_node.url, kafka_bootstrap).start()
    pw = playwright_sync.sync_playwright().start()
    browser = launch_chromium(pw)
    errors: list[str] = []
    try:
        page = browser.new_context().new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        confirms: list[str] = []

        def on_dialog(d):
            confirms.append(d.message)
            d.accept()

        page.on("dialog", on_dialog)
        page.goto(server.url + "/login")
        page.fill("#api_key", key)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(re.compile(r".*/search.*"))
        page.click("a[href='/lifecycle']")
        page.wait_for_selector(f"#lc-indices td:has-text('{stream}')")
        old_row = page.locator("#lc-indices tbody tr", has_text=f".ds-{stream}-000001")
        assert "-> warm" in old_row.inner_text() and "hot" in old_row.inner_text()
        page.wait_for_selector("#lc-disk td")
        assert "Watermarks: low" in page.inner_text("#lc-disk")

        page.fill("#retention-standard", "21")
        page.click("#lc-retention-save")
        page.wait_for_selector("#lc-message:has-text('Retention saved')")
        assert confirms and "standard: 30 → 21 days" in confirms[0]
        assert retention.get_retention(client, tenant=tenant)["standard"] == 21
        assert retention.get_retention(client)["standard"] == 30  # only this tenant
        rec = lifecycle_audit.search(client, kind="retention_change", tenant=tenant)[0]
        assert "standard: 30 -> 21 days" in rec["detail"] and rec["actor"]

        page.wait_for_selector("#lc-snapshots td")
        page.click("#lc-verify")
        page.wait_for_selector("#lc-verify-result:has-text('Verify OK')", timeout=180_000)
        page.wait_for_selector("#lc-last-verify:has-text(' ok ')")
        assert lifecycle_audit.search(client, kind="verify", size=1)[0]["outcome"] == "ok"
        assert not errors, errors
    finally:
        browser.close()
        pw.stop()
        server.stop()
        retention.clear_tenant(client, tenant)
        client.indices.delete_data_stream(name=f"logs-{tenant}-*", ignore=[404])
