"""The dashboard mounted on the real ui app, with OpenSearch down: sign-in, the session bridge to
the API, CSRF, origin checks, headers and the error states — no server other than the app."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from logharbor.config import KafkaSettings, OpenSearchSettings
from ui.app import create_app
from ui.settings import StaticKey, UISettings

DEAD = OpenSearchSettings(url="http://127.0.0.1:9", timeout_s=1)  # nothing listens: OpenSearch is "down"
READ, ADMIN = "r" * 24, "a" * 24


@pytest.fixture
async def http(monkeypatch):
    monkeypatch.setenv("LOGHARBOR_WEB_SESSION_SECRET", "unit-test-secret-" + "x" * 16)
    app = create_app(UISettings(static_keys={READ: StaticKey(tenant="acme", scopes=["read"]),
                                             ADMIN: StaticKey(tenant="acme", scopes=["admin"])}),
                     opensearch=DEAD, kafka=KafkaSettings(bootstrap="127.0.0.1:9"))
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


async def login_csrf(http: TestClient) -> str:
    resp = await http.get("/login")
    assert resp.status == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)


async def sign_in(http: TestClient, key: str = READ) -> str:
    """Sign in; returns the session's CSRF token (from the page's meta tag)."""
    token = await login_csrf(http)
    resp = await http.post("/login", data={"csrf_token": token, "api_key": key, "next": "/tail"},
                           allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/tail"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and key not in cookie
    page = await (await http.get("/tail")).text()  # the one page that needs no OpenSearch
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


async def test_login_page_headers_and_login_csrf(http: TestClient) -> None:
    resp = await http.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    resp = await http.post("/login", data={"api_key": READ}, allow_redirects=False)
    assert resp.status == 403 and "CSRF" in await resp.text()
    resp = await http.post("/login", data={"api_key": READ, "csrf_token": "forged"}, allow_redirects=False)
    assert resp.status == 403


async def test_bad_key_is_refused_and_pages_need_a_session(http: TestClient) -> None:
    resp = await http.get("/search?q=x", allow_redirects=False)
    location = urlsplit(resp.headers["Location"])
    assert resp.status == 303 and location.path == "/login" and parse_qs(location.query)["next"] == ["/search?q=x"]
    token = await login_csrf(http)
    resp = await http.post("/login", data={"csrf_token": token, "api_key": "nope"}, allow_redirects=False)
    assert resp.status == 401 and 'id="login-error"' in await resp.text()


async def test_opensearch_down_is_an_explicit_state(http: TestClient) -> None:
    await sign_in(http)
    resp = await http.get("/search?q=level:ERROR")
    text = await resp.text()
    assert resp.status == 200
    assert "Search backend unavailable" in text and "OpenSearch is unreachable" in text


async def test_session_reaches_the_api_and_writes_need_the_csrf_header(http: TestClient) -> None:
    csrf = await sign_in(http)
    resp = await http.get("/api/v1/saved-queries")
    assert resp.status == 503  # authenticated by the cookie; then OpenSearch is down
    resp = await http.post("/api/v1/saved-queries", json={"name": "x"})
    assert resp.status == 403 and "CSRF" in (await resp.json())["error"]
    resp = await http.post("/api/v1/saved-queries", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert resp.status == 503
    resp = await http.get("/api/v1/logs/search", headers={"Origin": "https://evil.example"})
    assert resp.status == 403


async def test_cookie_websocket_needs_our_origin(http: TestClient) -> None:
    await sign_in(http)
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "a" * 22 + "=="}
    resp = await http.get("/api/v1/stream", headers={**upgrade, "Origin": "https://evil.example"})
    assert resp.status == 403
    resp = await http.get("/api/v1/stream", headers=upgrade)
    assert resp.status == 403  # no Origin at all: not a browser we can trust with the cookie


async def test_tampered_cookie_is_no_session(http: TestClient) -> None:
    await sign_in(http)
    cookie = next(c for c in http.session.cookie_jar if c.key == "lh_session")
    payload, mac = cookie.value.split(".")
    http.session.cookie_jar.clear()
    forged = payload + "." + mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB")
    http.session.cookie_jar.update_cookies({"lh_session": forged}, response_url=http.make_url("/"))
    resp = await http.get("/tail", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")
    assert (await http.get("/api/v1/saved-queries")).status == 401


async def test_sign_out_needs_csrf_and_ends_the_session(http: TestClient) -> None:
    csrf = await sign_in(http)
    assert (await http.post("/logout", allow_redirects=False)).status == 403
    resp = await http.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/login"
    assert (await http.get("/tail", allow_redirects=False)).status == 303


async def test_session_info(http: TestClient) -> None:
    assert (await (await http.get("/session")).json()) == {"signed_in": False}
    await sign_in(http)
    body = await (await http.get("/session")).json()
    assert body["signed_in"] and body["tenant"] == "acme" and body["scopes"] == ["read"]


async def test_admin_page_needs_admin_scope(http: TestClient) -> None:
    await sign_in(http, READ)
    resp = await http.get("/admin")
    assert resp.status == 403 and "admin" in await resp.text()


async def test_error_pages_escape_what_they_echo(http: TestClient) -> None:
    await sign_in(http)
    resp = await http.get("/event/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    text = await resp.text()
    assert resp.status == 503  # detail needs OpenSearch
    resp = await http.get("/nope")
    assert resp.status == 404 and resp.content_type == "text/html"
    resp = await http.get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%20AND%20(")
    text = await resp.text()
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


async def test_openapi_documents_saved_queries(http: TestClient) -> None:
    doc = await (await http.get("/api/v1/openapi.json")).json()
    assert set(doc["paths"]["/api/v1/saved-queries"]) == {"get", "post"}
    assert set(doc["paths"]["/api/v1/saved-queries/{id}"]) == {"put", "delete"}
    assert "SavedQuery" in doc["components"]["schemas"]


async def test_static_assets_are_served_with_nosniff(http: TestClient) -> None:
    for name in ("app.css", "common.js", "search.js", "charts.js", "event.js", "tail.js", "dashboard.js", "theme.js",
                 "login.js"):
        resp = await http.get("/static/" + name)
        assert resp.status == 200, name
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        body = await resp.text()
        assert ".innerHTML" not in body and "insertAdjacentHTML" not in body and "eval(" not in body, name


def test_csp_names_the_websocket_origin_only_for_plain_hosts() -> None:
    from ui.web.middleware import content_security_policy

    assert "connect-src 'self' ws://h.example:8080 wss://h.example:8080;" in content_security_policy("h.example:8080")
    assert "ws://[::1]:80 " in content_security_policy("[::1]:80")
    for bad in ("evil; script-src *", "a b", "", None):
        csp = content_security_policy(bad)
        assert "connect-src 'self';" in csp and "script-src 'self';" in csp
