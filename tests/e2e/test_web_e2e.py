"""The web dashboard in headless chromium against the real stack.

A fresh tenant is seeded straight into its data streams (plus an XSS corpus in every field the
pages display), keys come from the real key store, the ui app (``ui.app.create_app``) serves on
a loopback port, and Playwright drives Debian's chromium. Live tail gets its event the way the
pipeline publishes it: a document JSON on the processed topic with ``data_stream.name``.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import playwright.sync_api as playwright_sync  # dev dependency; Chromium from `apt-get install chromium`
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    "{{7*7}}",
    "'><iframe src=javascript:alert(1)></iframe>",
    "</textarea></pre><script>alert(1)</script>",
    '<a href="javascript:alert(1)">click</a>',
]
N_NORMAL = 60


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def normal_docs(now: datetime) -> list[dict[str, Any]]:
    """60 events of one service and host, 30 s apart; every third is an ERROR; request ids in threes."""
    docs = []
    for i in range(N_NORMAL):
        level = ("INFO", "WARN", "ERROR")[i % 3]
        docs.append({
            "@timestamp": iso(now - timedelta(seconds=30 * (N_NORMAL - i))),
            "message": f"order {i:03d} processed by checkout",
            "log": {"level": level}, "service": {"name": "checkout"}, "host": {"name": "h1"},
            "event": {"id": f"n-{i:03d}", "duration_ms": 10.0 + i},
            "http": {"request": {"id": f"req-{i // 3}", "method": "POST"}, "response": {"status_code": 200}},
            "url": {"path": "/api/checkout"}, "trace": {"id": f"trace-{i // 3}"}, "user": {"id": f"user-{i % 4}"},
        })
    return docs


def xss_docs(now: datetime) -> list[dict[str, Any]]:
    """Every payload in every displayed field: message, service, host, level, ids, error fields, a label key."""
    docs = []
    for i, p in enumerate(XSS):
        docs.append({
            "@timestamp": iso(now - timedelta(minutes=45, seconds=i)),
            "message": f"xss-{i} {p}", "log": {"level": "ERROR"}, "service": {"name": p}, "host": {"name": p},
            "event": {"id": f"xss-{i}", "duration_ms": 5.0},
            "http": {"request": {"id": p}}, "trace": {"id": p}, "user": {"id": p},
            "url": {"path": p, "original": p},
            "error": {"type": p, "message": p, "stack_trace": f"{p}\n\tat {p}(X.java:1)"},
            "labels": {"note": p, "env": p},
        })
    docs.append({"@timestamp": iso(now - timedelta(minutes=44)), "message": "weird level and key",
                 "log": {"level": XSS[0]}, "service": {"name": "checkout"}, "host": {"name": "h1"},
                 "event": {"id": "xss-level"}, "labels": {"img_src_x_onerror": XSS[1]}})
    return docs


class Env:
    def __init__(self) -> None:
        self.tenant = "e2e" + uuid.uuid4().hex[:8]
        self.url = ""
        self.keys: dict[str, str] = {}
        self.browser: Any = None


@pytest.fixture(scope="module")
def env(os_client, os_url, kafka_bootstrap) -> Iterator[Env]:
    from logharbor.config import OpenSearchSettings
    from opensearch.bootstrap import bootstrap
    from opensearch.client import async_client
    from opensearch.keys import KeyStore
    from ops.screenshots import CHROMIUM, UIServer, index_documents, launch_chromium

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (./ops/test.sh does it as root)")
    e = Env()
    bootstrap(os_client)
    now = datetime.now(UTC)
    index_documents(os_client, e.tenant, normal_docs(now) + xss_docs(now))

    async def keys() -> None:
        client = async_client(OpenSearchSettings(url=os_url))
        try:
            store = KeyStore(client)
            e.keys["read"], _ = await store.create(tenant=e.tenant, source="e2e", scopes=["read"])
            e.keys["admin"], _ = await store.create(tenant=e.tenant, source="e2e", scopes=["admin"],
                                                    description=XSS[2])
        finally:
            await client.close()

    asyncio.run(keys())
    server = UIServer(os_url, kafka_bootstrap).start()
    e.url = server.url
    pw = playwright_sync.sync_playwright().start()
    e.browser = launch_chromium(pw)
    try:
        yield e
    finally:
        e.browser.close()
        pw.stop()
        server.stop()
        os_client.indices.delete_data_stream(name=f"logs-{e.tenant}-*", ignore=[404])
        for index in (".logharbor-saved-queries", ".logharbor-keys"):
            os_client.delete_by_query(index=index, body={"query": {"term": {"tenant": e.tenant}}},
                                      params={"refresh": "true", "ignore_unavailable": "true"})


class Tab:
    """A signed-in page that records dialogs, page errors and CSP violations."""

    def __init__(self, env: Env, who: str = "admin") -> None:
        self.ctx = env.browser.new_context(viewport={"width": 1366, "height": 768})
        self.page = self.ctx.new_page()
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.confirm = False  # accept the next confirm() (delete, revoke); any other dialog is a finding
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda exc: self.console.append(f"pageerror: {exc}"))
        self.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        self.base = env.url
        if who:
            sign_in(self.page, env.url, env.keys[who])

    def _dialog(self, dialog: Any) -> None:
        if self.confirm and dialog.type == "confirm":
            self.confirm = False
            dialog.accept()
            return
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def close(self) -> None:
        self.ctx.close()


@pytest.fixture
def tab(env: Env) -> Iterator[Tab]:
    t = Tab(env)
    yield t
    t.close()


def sign_in(page: Any, base: str, key: str) -> None:
    page.goto(base + "/login")
    page.fill("#api_key", key)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/search.*"))


def assert_inert(tab: Tab) -> None:
    """No dialog fired, no element or script from a payload exists, and the CSP never had to step in."""
    tab.page.wait_for_timeout(250)
    assert not tab.dialogs, tab.dialogs
    found = tab.page.evaluate("""() => ({
        img: document.querySelectorAll('img').length,
        iframe: document.querySelectorAll('iframe').length,
        handlers: document.querySelectorAll('[onload], [onerror], [onclick]').length,
        inlineScripts: Array.from(document.scripts).filter(s => !s.src && s.type !== 'application/json').length,
        jsLinks: Array.from(document.querySelectorAll('a[href]'))
            .filter(a => /^\\s*javascript:/i.test(a.getAttribute('href'))).length,
    })""")
    assert found == {"img": 0, "iframe": 0, "handlers": 0, "inlineScripts": 0, "jsLinks": 0}, found
    csp = [c for c in tab.console if "Content Security Policy" in c]
    assert not csp, csp


# ---------------------------------------------------------------- sign in / out


def test_sign_in_rejects_bad_key_and_sets_strict_cookie(env: Env) -> None:
    t = Tab(env, who="")
    try:
        t.goto("/search?q=level:ERROR")
        assert "/login" in t.page.url  # pages need a session
        t.page.fill("#api_key", "lh_live_aaaaaaaaaaaa_" + "x" * 43)
        t.page.click("#login-form button[type=submit]")
        assert "unknown API key" in t.page.inner_text("#login-error")
        t.page.fill("#api_key", env.keys["read"])
        t.page.click("#login-form button[type=submit]")
        t.page.wait_for_url(re.compile(r".*/search\?q=level(%3A|:)ERROR$"))  # back where we were sent from
        cookie = next(c for c in t.ctx.cookies() if c["name"] == "lh_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert env.keys["read"] not in cookie["value"]
        assert "Sources" not in t.page.inner_text("header nav")  # read key: no admin page
        assert t.goto("/admin").status == 403
        t.goto("/search")
        t.page.click("header form[action='/logout'] button")
        t.page.wait_for_url(re.compile(r".*/login$"))
        assert re.search(r"/login\?next=(%2F|/)search$", t.goto("/search").url)
    finally:
        t.close()


def test_shared_link_opened_from_another_site_needs_no_second_sign_in(env: Env, tab: Tab) -> None:
    """SameSite=Strict keeps the cookie off cross-site navigations; the sign-in page's same-site
    check forwards a signed-in user to the link instead of asking for the key again."""
    other_site = env.url.replace("127.0.0.1", "localhost")  # same server, another site
    link = env.url + "/search?range=24h&q=checkout"
    # Without the script the cookie really is withheld: the link lands on the sign-in form.
    tab.page.route("**/static/login.js*", lambda route: route.abort())
    tab.page.goto(other_site + "/login")
    tab.page.evaluate("u => { location.href = u }", link)
    tab.page.wait_for_url(re.compile(r".*127\.0\.0\.1.*/login\?next=.*"))
    tab.page.unroute("**/static/login.js*")
    tab.page.goto(other_site + "/login")
    tab.page.evaluate("u => { location.href = u }", link)
    tab.page.wait_for_url(re.compile(r".*127\.0\.0\.1.*/search\?range=24h&q=checkout$"))
    assert tab.page.locator("#total").count() == 1


# ---------------------------------------------------------------- search


def test_search_with_filters_histogram_and_share_link(env: Env, tab: Tab) -> None:
    tab.goto("/search?range=24h")
    tab.page.fill("#q", "checkout")
    tab.page.check("input[name=level][value=ERROR]")
    tab.page.click("#query-form button[type=submit]")
    tab.page.wait_for_selector("#results")
    assert tab.page.inner_text("#total").startswith(str(N_NORMAL // 3))
    levels = tab.page.locator("#results tbody .lvl").all_inner_texts()
    assert levels and set(levels) == {"ERROR"}
    tab.page.wait_for_selector("#histogram svg rect")
    # Field sidebar: exclude a value with "−" and the query says so.
    tab.goto("/search?range=24h&q=checkout")
    tab.page.click("a[aria-label='Filter out log.level INFO']")
    assert "NOT log.level:INFO" in tab.page.input_value("#q")
    assert "INFO" not in tab.page.locator("#results tbody .lvl").all_inner_texts()
    # Filter builder writes into the query.
    tab.page.fill("#fb_field", "user.id")
    tab.page.fill("#fb_value", "user-1")
    tab.page.click("#filter-builder button")
    assert tab.page.input_value("#q").endswith("user.id:user-1")
    shared = tab.page.get_attribute("#share-link", "href")
    total = tab.page.inner_text("#total")
    first = tab.page.locator("#results tbody tr").first.inner_text()
    # The shared link reproduces the view in a new session.
    other = Tab(env, who="read")
    try:
        other.goto(shared)
        assert other.page.inner_text("#total") == total
        assert other.page.locator("#results tbody tr").first.inner_text() == first
        assert other.page.input_value("#q") == tab.page.input_value("#q")
    finally:
        other.close()


def test_histogram_drag_selects_narrower_range(tab: Tab) -> None:
    tab.goto("/search?range=24h&q=checkout")
    box = tab.page.wait_for_selector("#histogram svg").bounding_box()
    y = box["y"] + box["height"] / 2
    tab.page.mouse.move(box["x"] + box["width"] * 0.80, y)
    tab.page.mouse.down()
    tab.page.mouse.move(box["x"] + box["width"] * 0.99, y, steps=5)
    tab.page.mouse.up()
    tab.page.wait_for_url(re.compile(r".*range=custom.*"))
    assert "from=" in tab.page.url and "to=" in tab.page.url
    tab.page.wait_for_selector("#results, #empty-state")


def test_empty_range_is_an_explicit_state(tab: Tab) -> None:
    tab.goto("/search?range=15m&q=nothing-matches-this-" + uuid.uuid4().hex)
    assert "No events match" in tab.page.inner_text("#empty-state")
    tab.page.wait_for_selector("#histogram .state-empty")


def test_bad_query_marks_position(tab: Tab) -> None:
    resp = tab.goto("/search?q=level:ERROR%20AND%20(service:api")
    assert resp.status == 200
    assert "Query problem" in tab.page.inner_text("#search-error")
    assert tab.page.inner_text("#query-marked mark") == " "  # the caret sits after the last character
    assert tab.page.input_value("#q") == "level:ERROR AND (service:api"


def test_autocomplete_suggests_fields_then_values(tab: Tab) -> None:
    tab.goto("/search?range=24h")
    tab.page.click("#q")
    tab.page.keyboard.type("user.i")
    tab.page.wait_for_selector("#ac-list:not([hidden]) li")
    assert "user.id:" in tab.page.inner_text("#ac-list")
    tab.page.keyboard.press("ArrowDown")
    tab.page.keyboard.press("Tab")
    assert tab.page.input_value("#q") == "user.id:"
    tab.page.wait_for_selector("#ac-list:not([hidden]) li")  # values of that field, from /api/v1/fields
    values = tab.page.locator("#ac-list li").all_inner_texts()
    assert any(v.startswith("user.id:user-") for v in values), values
    tab.page.keyboard.press("ArrowDown")
    tab.page.keyboard.press("Enter")  # accepts the suggestion, does not submit
    assert re.fullmatch(r"user\.id:user-\d", tab.page.input_value("#q"))
    tab.page.keyboard.press("Enter")  # now it submits
    tab.page.wait_for_url(re.compile(r".*q=user\.id%3Auser-\d.*"))
    assert tab.page.locator("#results tbody tr").count() > 0


def test_keyboard_search_and_open(tab: Tab) -> None:
    tab.goto("/search?range=24h&q=checkout")
    tab.page.keyboard.press("/")
    assert tab.page.evaluate("document.activeElement.id") == "q"
    tab.page.keyboard.press("End")
    tab.page.keyboard.type(" AND order")
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_url(re.compile(r".*q=checkout\+AND\+order.*"))
    tab.page.locator("body").click(position={"x": 5, "y": 300})
    tab.page.keyboard.press("j")
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_url(re.compile(r".*/event/n-\d+$"))


def test_theme_toggle_overrides_the_system_setting_and_sticks(env: Env) -> None:
    ctx = env.browser.new_context(color_scheme="dark")
    try:
        page = ctx.new_page()
        sign_in(page, env.url, env.keys["read"])
        bg = "getComputedStyle(document.body).backgroundColor"
        dark = page.evaluate(bg)
        page.click("#theme-toggle")
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        light = page.evaluate(bg)
        assert light != dark
        page.reload()
        assert page.evaluate(bg) == light
    finally:
        ctx.close()


# ---------------------------------------------------------------- event viewer


def test_event_viewer_context_related_and_permalink(env: Env, tab: Tab) -> None:
    tab.goto("/search?range=24h&q=%22order%20030%22")
    tab.page.click("#results .row-link >> nth=0")
    tab.page.wait_for_url(re.compile(r".*/event/n-030$"))
    assert tab.page.inner_text("#event-message") == "order 030 processed by checkout"
    tab.page.wait_for_selector("#context table")
    context = tab.page.locator("#context tbody tr").all_inner_texts()
    assert len(context) == 21  # 10 before, the event, 10 after (same source and host)
    assert "order 030" in tab.page.inner_text("#context tr.current")
    assert "order 020" in context[0] and "order 040" in context[-1]
    tab.page.click("#more-context")
    tab.page.wait_for_selector("#context tbody tr:nth-child(22)")
    related = tab.page.inner_text("#related")
    assert "req-10" in related and "order 031" in related and "order 032" in related
    tab.page.click("#related a.related-all >> nth=0")  # the full search behind a related group
    tab.page.wait_for_url(re.compile(r".*/search\?.*q=http\.request\.id%3Areq-10.*"))
    assert tab.page.inner_text("#total").startswith("3")
    tab.page.go_back()
    tab.page.wait_for_selector("#json-tree .j-key")
    assert "duration_ms" in tab.page.inner_text("#json-tree")
    link = tab.page.get_attribute("#permalink", "href")
    assert tab.goto(link).status == 200 and tab.page.url.endswith("/event/n-030")
    assert tab.goto("/event/no-such-event").status == 404


# ---------------------------------------------------------------- live tail


def test_live_tail_receives_published_event_within_2s(env: Env, tab: Tab, kafka_bootstrap: str) -> None:
    from logharbor.config import KafkaSettings

    marker = "tailmark" + uuid.uuid4().hex[:8]
    tab.goto(f"/tail?q={marker}")
    tab.page.wait_for_selector("#tail-status.status-ok", timeout=15_000)
    doc = {"@timestamp": iso(datetime.now(UTC)), "message": f"{marker} {XSS[1]}", "log": {"level": "ERROR"},
           "service": {"name": XSS[0]}, "host": {"name": "h1"}, "event": {"id": "tail-" + marker},
           "labels": {"tenant": env.tenant}, "data_stream": {"name": f"logs-{env.tenant}-errors"}}
    other_tenant = {**doc, "event": {"id": "other"}, "data_stream": {"name": "logs-someoneelse-errors"},
                    "labels": {"tenant": "someoneelse"}}

    async def publish() -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            topic = KafkaSettings(bootstrap=kafka_bootstrap).processed_topic
            await producer.send_and_wait(topic, orjson.dumps(other_tenant), key=b"e2e")
            await producer.send_and_wait(topic, orjson.dumps(doc), key=b"e2e")
        finally:
            await producer.stop()

    publisher = threading.Thread(target=lambda: asyncio.run(publish()))  # Playwright owns this thread's loop
    publisher.start()
    publisher.join(30)
    t0 = time.monotonic()
    tab.page.wait_for_selector("#tail-body tr", timeout=2000)
    assert time.monotonic() - t0 < 2.0
    rows = tab.page.locator("#tail-body tr").all_inner_texts()
    assert len(rows) == 1 and marker in rows[0] and XSS[0] in rows[0]  # shown as text, other tenant not shown
    assert tab.page.inner_text("#tail-count") == "1 events"
    tab.page.click("#tail-pause")
    assert tab.page.inner_text("#tail-status") == "paused"
    assert_inert(tab)


def test_live_tail_shows_an_event_ingested_through_the_gateway_within_2s(
        env: Env, tab: Tab, os_url: str, kafka_bootstrap: str) -> None:
    """The real chain: POST /ingest → Kafka → pipeline (indexes, then publishes) → ui → browser."""
    import os
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from gateway.testing import GatewayProcess, create_topic, free_port, keys

    with ThreadPoolExecutor(1) as pool:  # Playwright owns this thread's event loop
        raw = pool.submit(create_topic, kafka_bootstrap).result()
        ingest_key, _ = pool.submit(keys, os_url, "create", tenant=env.tenant, source="checkout",
                                    scopes=["ingest"]).result()
    group = "e2e-tail-" + uuid.uuid4().hex[:8]
    chain_env = {"LOGHARBOR_KAFKA_RAW_TOPIC": raw, "LOGHARBOR_KAFKA_CONSUMER_GROUP": group}
    pipeline_port = free_port()
    pipeline = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "pipeline"], cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, **chain_env, "LOGHARBOR_PIPELINE_HTTP_PORT": str(pipeline_port)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with GatewayProcess(env=chain_env) as gw:
            gw.wait_ready()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # the pipeline has joined its group and can index
                try:
                    if requests.get(f"http://127.0.0.1:{pipeline_port}/ready", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.3)
            marker = "chainmark" + uuid.uuid4().hex[:8]
            tab.goto(f"/tail?q={marker}")
            tab.page.wait_for_selector("#tail-status.status-ok", timeout=15_000)
            r = requests.post(gw.url + "/ingest", timeout=30, json=[{
                "timestamp": iso(datetime.now(UTC)), "level": "error", "message": f"{marker} {XSS[0]}"}],
                headers={"Authorization": f"Bearer {ingest_key}"})
            assert r.status_code == 202, r.text
            acked = time.monotonic()
            tab.page.wait_for_selector("#tail-body tr", timeout=2000)
            assert time.monotonic() - acked < 2.0
            rows = tab.page.locator("#tail-body tr").all_inner_texts()
            assert len(rows) == 1 and marker in rows[0] and "checkout" in rows[0] and XSS[0] in rows[0]
            assert_inert(tab)
    finally:
        pipeline.terminate()
        pipeline.wait(60)


def test_live_tail_pause_shows_dropped_count(env: Env, tab: Tab, kafka_bootstrap: str) -> None:
    """Paused longer than the server's buffer (ui.tail_buffer, 1000): the overflow is counted, not hidden."""
    from logharbor.config import KafkaSettings

    marker = "flood" + uuid.uuid4().hex[:8]
    tab.goto(f"/tail?q={marker}")
    tab.page.wait_for_selector("#tail-status.status-ok", timeout=15_000)
    tab.page.click("#tail-pause")
    tab.page.wait_for_timeout(300)  # the pause message reaches the server before the flood

    async def publish() -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=20)
        await producer.start()
        try:
            topic = KafkaSettings(bootstrap=kafka_bootstrap).processed_topic
            now = iso(datetime.now(UTC))
            futures = [await producer.send(topic, orjson.dumps({
                "@timestamp": now, "message": f"{marker} {i}", "log": {"level": "INFO"},
                "service": {"name": "flood"}, "event": {"id": f"{marker}-{i}"},
                "data_stream": {"name": f"logs-{env.tenant}-standard"}})) for i in range(1300)]
            for f in futures:
                await f
        finally:
            await producer.stop()

    def delivered() -> int:  # offers to this tenant's subscribers (only this tab), paused or not
        return tab.page.request.get(env.url + "/api/v1/metrics").json()["live_tail"]["events_delivered"]

    before = delivered()
    publisher = threading.Thread(target=lambda: asyncio.run(publish()))
    publisher.start()
    publisher.join(60)
    deadline = time.monotonic() + 10
    while delivered() < before + 1300 and time.monotonic() < deadline:  # the flood reached the paused buffer
        tab.page.wait_for_timeout(100)
    assert tab.page.locator("#tail-body tr").count() == 0
    assert delivered() >= before + 1300
    tab.page.click("#tail-pause")  # resume
    tab.page.wait_for_selector("#tail-dropped:not([hidden])", timeout=3000)
    dropped = int(tab.page.inner_text("#tail-dropped").split()[0])
    assert dropped == 300
    tab.page.wait_for_selector("#tail-body tr:nth-child(1000)", timeout=10_000)
    assert tab.page.inner_text("#tail-count") == "1000 events"


# ---------------------------------------------------------------- saved queries


def test_saved_query_round_trip(env: Env, tab: Tab) -> None:
    name = "errors " + uuid.uuid4().hex[:6]
    tab.goto("/search?range=7d&q=checkout&level=ERROR")
    tab.page.click(".save-box summary")
    tab.page.fill("#save-form input[name=name]", name)
    tab.page.fill("#save-form input[name=description]", "checkout errors")
    tab.page.click("#save-form button[type=submit]")
    tab.page.wait_for_url(re.compile(r".*/saved#q-.*"))
    row = tab.page.locator("#saved-list tr", has_text=name)
    assert "checkout" in row.inner_text()
    row.locator("a.saved-open").click()
    tab.page.wait_for_url(re.compile(r".*/search\?.*"))
    assert tab.page.input_value("#q") == "checkout"
    assert tab.page.is_checked("input[name=level][value=ERROR]")
    assert tab.page.inner_text("#total").startswith(str(N_NORMAL // 3))
    assert tab.page.locator(".saved-quick a.chip", has_text=name).count() == 1  # one-click list
    # JSON API, same session: list, rename, delete (writes need the CSRF header).
    api = tab.page.request
    items = api.get(env.url + "/api/v1/saved-queries").json()["saved_queries"]
    item = next(i for i in items if i["name"] == name)
    assert item["query"] == {"q": "checkout", "range": "7d", "from": "", "to": "", "bh": False,
                             "level": ["ERROR"], "source": []}
    assert api.put(f"{env.url}/api/v1/saved-queries/{item['id']}", data={"name": "x"}).status == 403
    csrf = tab.page.get_attribute('meta[name="csrf-token"]', "content")
    r = api.put(f"{env.url}/api/v1/saved-queries/{item['id']}", data={"name": name + " renamed"},
                headers={"X-CSRF-Token": csrf})
    assert r.status == 200 and r.json()["name"] == name + " renamed"
    tab.goto("/saved")
    form = tab.page.locator("#saved-list tr", has_text=name + " renamed").locator("form.confirm")
    tab.confirm = True  # the delete confirmation
    form.locator("button").click()
    tab.page.wait_for_url(re.compile(r".*/saved$"))
    assert name not in tab.page.inner_text("main")


# ---------------------------------------------------------------- keys


def test_admin_creates_key_shown_once(env: Env, tab: Tab) -> None:
    tab.goto("/admin")
    assert "checkout" in tab.page.inner_text("#sources")
    tab.page.fill("#key-create input[name=source]", "web-07")
    tab.page.check("#key-create input[value=read]")
    tab.page.fill("#key-create input[name=description]", XSS[1])
    tab.page.click("#key-create button[type=submit]")
    token = tab.page.inner_text("#new-key-token").strip()
    assert token.startswith("lh_live_")
    key_id = token.split("_")[2]
    assert tab.page.locator(f"#key-{key_id}").count() == 1
    # The key works, and it is never shown again.
    resp = tab.page.request.get(env.url + "/api/v1/logs/search?limit=1", headers={"Authorization": "Bearer " + token})
    assert resp.status == 200
    tab.goto("/admin")
    assert token not in tab.page.content()
    assert tab.page.locator("#new-key").count() == 0
    # Rotate: a new key, shown once; the old one is revoked at once (no grace given).
    tab.page.locator(f"#key-{key_id} form[action$='/rotate'] button").click()
    new_token = tab.page.inner_text("#new-key-token").strip()
    new_id = new_token.split("_")[2]
    assert new_id != key_id and "rotated" in tab.page.inner_text("#new-key")
    assert tab.page.inner_text(f"#key-{key_id} .badge") == "revoked"
    assert tab.page.request.get(env.url + "/api/v1/logs/search?limit=1",
                                headers={"Authorization": "Bearer " + new_token}).status == 200
    tab.goto("/admin")
    tab.confirm = True
    tab.page.locator(f"#key-{new_id} form.confirm button").click()
    tab.page.wait_for_url(re.compile(r".*/admin$"))
    assert tab.page.inner_text(f"#key-{new_id} .badge") == "revoked"
    assert_inert(tab)


# ---------------------------------------------------------------- CSRF and headers


def test_csrf_less_posts_are_refused(env: Env, tab: Tab) -> None:
    api = tab.page.request
    for path, form in (("/logout", {}), ("/saved", {"name": "x", "q": "a"}),
                       ("/admin/keys", {"source": "evil", "scopes": "admin"}),
                       ("/saved/whatever/delete", {}), ("/admin/keys/aaaaaaaaaaaa/revoke", {})):
        r = api.post(env.url + path, form=form)
        assert r.status == 403, (path, r.status)
        r = api.post(env.url + path, form={**form, "csrf_token": "forged"})
        assert r.status == 403, (path, r.status)
    assert api.post(env.url + "/api/v1/saved-queries", data={"name": "x", "query": {}}).status == 403
    # The sign-in form is protected too (login CSRF).
    fresh = env.browser.new_context()
    try:
        r = fresh.request.post(env.url + "/login", form={"api_key": env.keys["read"]})
        assert r.status == 403
        assert not [c for c in fresh.cookies() if c["name"] == "lh_session"]
    finally:
        fresh.close()
    tab.goto("/search")  # still signed in: nothing above took effect
    assert tab.page.locator("#total").count() == 1


def test_pages_send_strict_csp_and_fit_1366(tab: Tab) -> None:
    for path in ("/search?range=24h", "/event/n-010", "/tail", "/dashboard", "/analytics?tab=performance",
                 "/saved", "/admin", "/nope"):
        csp = tab.goto(path).headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        tab.page.wait_for_timeout(300)
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= 1366, path  # no sideways scrolling


# ---------------------------------------------------------------- XSS corpus on every page


def test_xss_corpus_is_inert_on_every_page(env: Env, tab: Tab) -> None:
    csrf_api = tab.page.request
    tab.goto("/search")
    csrf = tab.page.get_attribute('meta[name="csrf-token"]', "content")
    for p in XSS[:3]:
        r = csrf_api.post(env.url + "/api/v1/saved-queries", headers={"X-CSRF-Token": csrf},
                          data={"name": p, "description": p, "query": {"q": p, "source": [p]}})
        assert r.status == 201
    pages = [
        ("/search?range=24h", "#results"),
        ("/search?range=24h&q=" + "%3Cscript%3Ealert(1)%3C%2Fscript%3E", None),
        ("/search?range=24h&q=%22%3E%3Csvg%20onload%3Dalert(1)%3E", None),
        ("/event/xss-1", "#context table"),
        ("/event/xss-level", "#json-tree .j-key"),
        ("/event/%3Cscript%3Ealert(1)%3C%2Fscript%3E", None),
        ("/tail?q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", "#search-error"),
        ("/tail?q=%22%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%22", "#tail-status.status-ok"),
        ("/dashboard", "#panel-recent-errors table"),
        ("/analytics?tab=errors", "#panel-top-errors .hbars"),
        ("/analytics?tab=activity", "#panel-per-user .hbars"),
        ("/analytics?tab=services", "#panel-service-errors .hbars"),
        ("/analytics?tab=performance", "#panel-latency table"),
        ("/saved", "#saved-list"),
        ("/admin", "#sources"),
        ("/login?next=javascript:alert(1)", None),
        ("/nothing-here/%3Cscript%3Ealert(1)%3C%2Fscript%3E", None),
    ]
    for path, wait in pages:
        tab.goto(path)
        if wait:
            tab.page.wait_for_selector(wait, timeout=10_000)
        if "/tail" not in path and "/dashboard" not in path:  # those two never go idle
            tab.page.wait_for_load_state("networkidle")
        assert_inert(tab)
    # The payloads are on the pages as text, and nothing evaluated the template one.
    tab.goto("/search?range=24h&q=xss")
    text = tab.page.inner_text("main")
    assert XSS[0] in text and XSS[1] in text
    assert tab.page.locator("#results tr", has_text="xss-4").locator(".msg").inner_text() == "xss-4 {{7*7}}"
    tab.goto("/event/xss-0")
    tab.page.wait_for_selector("#json-tree .j-key")
    assert XSS[0] in tab.page.inner_text("#stack-trace")
    assert_inert(tab)


def test_live_overview_streams_every_second_and_matches_a_search(env: Env, os_client, os_url: str,
                                                                 kafka_bootstrap: str) -> None:
    """The overview's live card is fed by ``/api/v1/live/overview`` (SSE from the processed topic):
    it ticks every second, shows what the pipeline published within a tick or two, and its
    figures equal a search over the same seconds once indexed. A tenant of its own, so nothing
    else of the module's data lies in the window."""
    import requests

    from logharbor.config import KafkaSettings, OpenSearchSettings
    from opensearch.client import async_client
    from opensearch.keys import KeyStore
    from ops.screenshots import index_documents

    tenant = "live" + uuid.uuid4().hex[:8]

    async def make_key() -> str:
        client = async_client(OpenSearchSettings(url=os_url))
        try:
            return (await KeyStore(client).create(tenant=tenant, source="e2e", scopes=["read"]))[0]
        finally:
            await client.close()

    keys: list[str] = []
    maker = threading.Thread(target=lambda: keys.append(asyncio.run(make_key())))  # Playwright owns this loop
    maker.start()
    maker.join(30)
    key = keys[0]
    tab = Tab(env, who="")
    try:
        sign_in(tab.page, env.url, key)
        tab.goto("/dashboard")
        # (the CSP forbids eval, so Playwright's wait_for_function cannot run here: poll instead)
        def until(pred, within_s: float, what: str) -> None:
            deadline = time.monotonic() + within_s
            while not pred():
                assert time.monotonic() < deadline, (f"{what} within {within_s} s", tab.console)
                tab.page.wait_for_timeout(100)

        until(lambda: tab.page.text_content("#live-status") == "streaming", 15, "the stream connected")
        until(lambda: int(tab.page.get_attribute("#live-overview", "data-ticks")) >= 1, 10, "a first tick")
        first = int(tab.page.get_attribute("#live-overview", "data-ticks"))
        tab.page.wait_for_timeout(3200)
        assert int(tab.page.get_attribute("#live-overview", "data-ticks")) - first >= 2  # a tick a second
        assert tab.page.inner_text("#live-events") == "0"
        now = datetime.now(UTC)
        docs = []
        for i in range(7):
            level = "ERROR" if i % 3 == 0 else "INFO"
            cls = "errors" if level == "ERROR" else "standard"
            docs.append({"@timestamp": iso(now - timedelta(milliseconds=100 * i)), "message": f"live {i} {XSS[0]}",
                         "log": {"level": level}, "service": {"name": "checkout"}, "event": {"id": f"live-{i}"},
                         "data_stream": {"name": f"logs-{tenant}-{cls}"}})
        # what the pipeline does: index, then publish the stored document to the processed topic
        index_documents(os_client, tenant, [dict(d) for d in docs])

        async def publish() -> None:
            from aiokafka import AIOKafkaProducer

            producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
            await producer.start()
            try:
                topic = KafkaSettings(bootstrap=kafka_bootstrap).processed_topic
                for d in docs:
                    await producer.send_and_wait(topic, orjson.dumps(d), key=b"e2e")
            finally:
                await producer.stop()

        publisher = threading.Thread(target=lambda: asyncio.run(publish()))  # Playwright owns this loop
        publisher.start()
        publisher.join(30)
        until(lambda: tab.page.inner_text("#live-events") == "7", 5, "the 7 published events shown")
        assert tab.page.inner_text("#live-errors") == "3"
        assert tab.page.locator("#live-errors-list tbody tr").count() == 3  # the newest errors, as text
        assert tab.page.locator("#live-volume svg").count() == 1 and tab.page.locator("#live-gauge svg").count() == 1
        lo, hi = (int(tab.page.get_attribute("#live-overview", a)) for a in ("data-from", "data-to"))
        span = {"from": iso(datetime.fromtimestamp(lo, UTC)), "to": iso(datetime.fromtimestamp(hi, UTC)), "limit": 1}
        headers = {"Authorization": f"Bearer {key}"}

        def searched() -> tuple[int, int]:
            total = requests.get(env.url + "/api/v1/logs/search", params=span, headers=headers, timeout=30).json()
            errors = requests.get(env.url + "/api/v1/logs/search", params={**span, "level": "ERROR,FATAL"},
                                  headers=headers, timeout=30).json()
            return total["total"], errors["total"]

        # the ui resolves a tenant's data streams with a 5 s cache; the dashboard's own panels asked
        # before these streams existed, so allow that long for the new streams to be seen
        until(lambda: searched() == (7, 3), 10, "a search over the same seconds finding the 7 and the 3")
        assert_inert(tab)
    finally:
        tab.close()
        os_client.indices.delete_data_stream(name=f"logs-{tenant}-*", ignore=[404])
