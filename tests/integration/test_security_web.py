"""Issue 16 items 7, 8, 10 and 12: the dashboard's sessions and saved queries against a real
OpenSearch, two ui processes' worth of apps sharing it (sessions are honoured by every process).

- 7: sign-out, key revocation and key rotation end the sessions they back — a copied cookie
  stops working, also on the other ui instance.
- 8: the pre-session cookie is always the server's own; a planted value is replaced and refused.
- 10: a saved query is renamed or deleted by its owner or an admin only.
- 12: the CSP's connect-src comes from ``web.public_origin``, never from the Host header.
"""

from __future__ import annotations

import asyncio
import re
import time

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from test_api_support import new_tenant

from logharbor.config import KafkaSettings, OpenSearchSettings
from opensearch.client import async_client
from opensearch.keys import KeyStore
from ui.app import create_app
from ui.settings import UISettings
from ui.web import session as sess
from ui.web.settings import WebSettings

pytestmark = pytest.mark.integration
RECHECK_S = 0.5


class Env:
    a: TestClient
    b: TestClient
    tenant: str
    store: KeyStore
    keys: dict[str, str]
    ids: dict[str, str]


async def _client(os_url: str, kafka: str, public_origin: str = "") -> TestClient:
    app = create_app(UISettings(rollup_interval_s=0), opensearch=OpenSearchSettings(url=os_url),
                     kafka=KafkaSettings(bootstrap=kafka))
    from ui.web.state import STATE, WEB

    # The page layer reads its settings from the environment; these apps get their own instead.
    app[WEB] = WebSettings(session_secret="integration-" + "s" * 32, key_recheck_s=RECHECK_S,
                           public_origin=public_origin)
    from ui.web.revocations import SessionRevocations
    from ui.web.sessions import KeyChecker, SessionSecret

    def client() -> object:
        from ui.http import SERVICE

        return app[SERVICE].client

    app[STATE]["secret"] = SessionSecret(app[WEB].session_secret, client)
    app[STATE]["keys"] = KeyChecker(client, RECHECK_S)
    app[STATE]["revoked"] = SessionRevocations(client, RECHECK_S)
    http = TestClient(TestServer(app))
    await http.start_server()
    return http


@pytest.fixture(scope="module")
async def web_env(os_url, kafka_bootstrap):
    e = Env()
    e.tenant = new_tenant()
    client = async_client(OpenSearchSettings(url=os_url))
    e.store = KeyStore(client)
    e.keys, e.ids = {}, {}
    for who, scopes in (("r1", ["read"]), ("r2", ["read"]), ("admin", ["admin"]), ("victim", ["read"]),
                        ("rot", ["read"])):
        e.keys[who], rec = await e.store.create(tenant=e.tenant, source="web", scopes=scopes)
        e.ids[who] = rec.key_id
    e.a = await _client(os_url, kafka_bootstrap)
    e.b = await _client(os_url, kafka_bootstrap, public_origin="https://logs.example.com")
    try:
        yield e
    finally:
        await e.a.close()
        await e.b.close()
        for r in await e.store.list(tenant=e.tenant):
            await client.delete(index=e.store.index, id=r.key_id, refresh=True)
        await client.close()


async def _sign_in(http: TestClient, key: str) -> tuple[str, str]:
    """(session cookie value, the page's CSRF token)."""
    http.session.cookie_jar.clear()
    page = await (await http.get("/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = await http.post("/login", data={"csrf_token": token, "api_key": key, "next": "/tail"},
                           allow_redirects=False)
    assert resp.status == 303, await resp.text()
    cookie = resp.cookies[sess.COOKIE].value
    page = await (await http.get("/tail", headers={"Cookie": f"{sess.COOKIE}={cookie}"})).text()
    return cookie, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


async def _api_with_cookie(http: TestClient, cookie: str) -> int:
    resp = await http.get("/api/v1/sources", headers={"Cookie": f"{sess.COOKIE}={cookie}"})
    return resp.status


async def _eventually(cond, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not await cond():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


# ---------------------------------------------------------------- item 7


async def test_item7_sign_out_ends_the_session_for_a_copied_cookie_on_every_process(web_env):
    cookie, csrf = await _sign_in(web_env.a, web_env.keys["r1"])
    assert await _api_with_cookie(web_env.a, cookie) == 200
    assert await _api_with_cookie(web_env.b, cookie) == 200  # the other process honours it too
    web_env.a.session.cookie_jar.clear()
    resp = await web_env.a.post("/logout", data={"csrf_token": csrf}, allow_redirects=False,
                                headers={"Cookie": f"{sess.COOKIE}={cookie}"})
    assert resp.status == 303
    # the copied cookie is dead at once here, and within the recheck interval on the other process
    assert await _api_with_cookie(web_env.a, cookie) == 401
    resp = await web_env.a.get("/search", headers={"Cookie": f"{sess.COOKIE}={cookie}"}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")
    await asyncio.sleep(RECHECK_S + 0.2)
    assert await _api_with_cookie(web_env.b, cookie) == 401


async def test_item7_key_revocation_and_rotation_end_their_sessions(web_env):
    cookie, _ = await _sign_in(web_env.a, web_env.keys["victim"])
    assert await _api_with_cookie(web_env.a, cookie) == 200
    await web_env.store.revoke(web_env.ids["victim"])

    async def ended() -> bool:
        return await _api_with_cookie(web_env.a, cookie) == 401

    await _eventually(ended)
    # rotation with a grace period: the old key still works for scripts, its sessions do not
    cookie, _ = await _sign_in(web_env.a, web_env.keys["rot"])
    resp = await web_env.a.post(f"/api/v1/keys/{web_env.ids['rot']}/rotate", data=orjson.dumps({"grace": "1h"}),
                                headers={"Authorization": f"Bearer {web_env.keys['admin']}"})
    assert resp.status == 200, await resp.text()
    await _eventually(lambda: _is_401(web_env.a, cookie))
    resp = await web_env.a.get("/api/v1/sources", headers={"Authorization": f"Bearer {web_env.keys['rot']}"})
    assert resp.status == 200  # the key itself is in its grace period


async def _is_401(http: TestClient, cookie: str) -> bool:
    return await _api_with_cookie(http, cookie) == 401


# ---------------------------------------------------------------- item 8


async def test_item8_pre_session_cookie_is_always_generated_by_the_server(web_env):
    planted = "attacker-chosen-pre-session-value"
    web_env.a.session.cookie_jar.clear()
    resp = await web_env.a.get("/login", headers={"Cookie": f"{sess.PRE_COOKIE}={planted}"})
    issued = resp.cookies[sess.PRE_COOKIE].value
    assert issued != planted
    token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)
    # a form whose token was made for the planted value is refused (old code: signed in)
    web_env.a.session.cookie_jar.clear()
    resp = await web_env.a.post("/login", data={"csrf_token": token, "api_key": web_env.keys["r2"]},
                                headers={"Cookie": f"{sess.PRE_COOKIE}={planted}"}, allow_redirects=False)
    assert resp.status == 403
    web_env.a.session.cookie_jar.clear()
    resp = await web_env.a.post("/login", data={"csrf_token": token, "api_key": web_env.keys["r2"]},
                                headers={"Cookie": f"{sess.PRE_COOKIE}={issued}"}, allow_redirects=False)
    assert resp.status == 303


# ---------------------------------------------------------------- item 10


async def test_item10_saved_queries_change_only_by_owner_or_admin(web_env):
    def auth(who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {web_env.keys[who]}"}

    resp = await web_env.a.post("/api/v1/saved-queries", headers=auth("admin"), data=orjson.dumps(
        {"name": "admin's errors", "query": {"q": "level:ERROR"}}))
    assert resp.status == 201
    admin_q = (await resp.json())["id"]
    resp = await web_env.a.post("/api/v1/saved-queries", headers=auth("r2"), data=orjson.dumps(
        {"name": "mine", "query": {"q": "x"}}))
    mine = (await resp.json())["id"]
    # another read key of the tenant may see but not change them
    resp = await web_env.a.get("/api/v1/saved-queries", headers=auth("r1"))
    assert {q["id"] for q in (await resp.json())["saved_queries"]} >= {admin_q, mine}
    for qid in (admin_q, mine):
        resp = await web_env.a.put(f"/api/v1/saved-queries/{qid}", headers=auth("r1"),
                                   data=orjson.dumps({"name": "pwned"}))
        assert resp.status == 403, await resp.text()
        assert (await web_env.a.delete(f"/api/v1/saved-queries/{qid}", headers=auth("r1"))).status == 403
    # the owner may, and an admin may change anyone's
    resp = await web_env.a.put(f"/api/v1/saved-queries/{mine}", headers=auth("r2"), data=orjson.dumps({"name": "m2"}))
    assert resp.status == 200
    assert (await web_env.a.delete(f"/api/v1/saved-queries/{mine}", headers=auth("admin"))).status == 200
    assert (await web_env.a.delete(f"/api/v1/saved-queries/{admin_q}", headers=auth("admin"))).status == 200
    # the form path follows the same rule (a read session cannot delete an admin's query)
    resp = await web_env.a.post("/api/v1/saved-queries", headers=auth("admin"), data=orjson.dumps(
        {"name": "admin's 2", "query": {"q": "a"}}))
    admin_q = (await resp.json())["id"]
    cookie, csrf = await _sign_in(web_env.a, web_env.keys["r1"])
    resp = await web_env.a.post(f"/saved/{admin_q}/delete", data={"csrf_token": csrf}, allow_redirects=False,
                                headers={"Cookie": f"{sess.COOKIE}={cookie}"})
    assert resp.status == 403
    assert (await web_env.a.delete(f"/api/v1/saved-queries/{admin_q}", headers=auth("admin"))).status == 200


# ---------------------------------------------------------------- item 12


async def test_item12_csp_connect_src_comes_from_the_configured_origin_not_the_host_header(web_env):
    resp = await web_env.a.get("/login", headers={"Host": "evil.example"})
    csp = resp.headers["Content-Security-Policy"]
    assert "evil.example" not in csp and "connect-src 'self';" in csp
    resp = await web_env.b.get("/login", headers={"Host": "evil.example"})
    csp = resp.headers["Content-Security-Policy"]
    assert "evil.example" not in csp and "connect-src 'self' wss://logs.example.com;" in csp
