"""The pure decisions behind issue 16, without servers: what is neutralised, refused, hidden."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from aiohttp.http_exceptions import LineTooLong

from gateway.metrics_access import peer_allowed
from logharbor.quiet_client_errors import ClientProtocolErrors
from opensearch.export import csv_safe, escape_controls
from opensearch.keys import KeyLimits, KeyStoreError
from opensearch.query import QuerySyntaxError, parse
from ui.auth import AuthError, Principal, check_grant, effective_scopes, require_operator, require_scope
from ui.concurrency import KeyCaps
from ui.status_access import status_for


def test_csv_safe_prefixes_only_formula_starts():
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(cell) == "'" + cell
    for cell in ("plain", "", "1-1", "a=b", "'quoted"):
        assert csv_safe(cell) == cell


def test_escape_controls_keeps_tab_and_text():
    assert escape_controls("a\tb") == "a\tb"
    assert escape_controls("x\x1b[31my\rz\n\x00\x7f\x9b\u2028") == "x\\x1b[31my\\rz\\n\\x00\\x7f\\x9b\\u2028"
    assert escape_controls("ünïcode ✓") == "ünïcode ✓"


def test_query_depth_limit_names_the_setting():
    parse("(" * 32 + "a" + ")" * 32)
    with pytest.raises(QuerySyntaxError, match=r"query\.max_depth"):
        parse("NOT " * 33 + "a")
    with pytest.raises(QuerySyntaxError, match="out of range"):
        parse("last 999999999 days")


def test_key_limits():
    limits = KeyLimits(100.0, 1000.0, timedelta(days=30))
    limits.check(100, 1000, timedelta(days=30))
    limits.check(None, None, None)
    for args, name in (((1e12, None, None), "key_max_rate"), ((None, 1e9, None), "key_max_burst"),
                       ((None, None, timedelta(days=31)), "key_max_lifetime_days"), ((float("nan"), None, None),
                                                                                     "key_max_rate")):
        with pytest.raises(KeyStoreError, match=name):
            limits.check(*args)
    with pytest.raises(KeyStoreError, match="key_require_expiry"):
        KeyLimits(1, 1, timedelta(days=1), require_expiry=True).check(None, None, None)


def test_scopes_and_the_operator():
    admin = Principal("k1", "acme", frozenset({"admin"}))
    op = Principal("k2", "ops", frozenset({"operator"}))
    assert effective_scopes(op.scopes) == {"operator", "admin", "read"}
    require_scope(op, "admin")
    with pytest.raises(AuthError) as exc:
        require_operator(admin, "changing retention defaults")
    assert exc.value.status == 403 and "operator" in exc.value.message
    require_operator(op)
    check_grant(admin, ["ingest", "read", "admin"])
    with pytest.raises(AuthError):
        check_grant(admin, ["operator"])
    check_grant(op, ["operator"])


def test_key_caps_per_key_and_total():
    caps = KeyCaps("exports", per_key=1, total=2, setting="max_exports")
    with caps.hold("a"):
        with pytest.raises(AuthError, match="max_exports_per_key=1") as exc, caps.hold("a"):
            pass
        assert exc.value.status == 429 and exc.value.retry_after
        with caps.hold("b"), pytest.raises(AuthError, match="max_exports=2"), caps.hold("c"):
            pass
    assert caps.in_use == 0


def test_status_views():
    full = {"status": "ok", "security": {"required": False, "warning": "open!"},
            "components": {"kafka": {"ok": True, "topics": ["logharbor.raw"], "pipeline_lag": {"total": 1}},
                           "gateway": {"ok": True, "url": "http://10.0.0.1:8088/health", "latency_ms": 1.0}}}
    tenant = status_for(full, operator=False, admin=False)
    assert tenant == {"status": "ok", "view": "tenant", "components": {
        "kafka": {"ok": True}, "gateway": {"ok": True, "latency_ms": 1.0}}}
    admin = status_for(full, operator=False, admin=True)
    assert admin["warnings"] == ["open!"] and admin["security"] == {"opensearch_authentication": False}
    assert "topics" not in admin["components"]["kafka"]
    op = status_for(full, operator=True, admin=True)
    assert op["components"]["kafka"]["topics"] and op["warnings"] == ["open!"]


def test_metrics_peers():
    loop = ["127.0.0.0/8", "::1/128"]
    assert peer_allowed("127.0.0.1", loop) and peer_allowed("::1", loop) and peer_allowed("::ffff:127.0.0.1", loop)
    assert not peer_allowed("192.0.2.2", loop) and not peer_allowed(None, loop) and not peer_allowed("junk", loop)
    assert peer_allowed("192.0.2.2", ["*"])


def test_protocol_errors_lose_their_traceback_only():
    f = ClientProtocolErrors()
    try:
        raise LineTooLong("x" * 10, "8190")
    except LineTooLong as exc:
        rec = logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "Error handling request", (),
                                (type(exc), exc, exc.__traceback__))
    assert f.filter(rec) and rec.exc_info is None and rec.levelno == logging.INFO and "malformed" in rec.msg
    try:
        raise RuntimeError("real bug")
    except RuntimeError as exc:
        rec = logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "Error handling request", (),
                                (type(exc), exc, exc.__traceback__))
    assert f.filter(rec) and rec.exc_info is not None and rec.levelno == logging.ERROR
