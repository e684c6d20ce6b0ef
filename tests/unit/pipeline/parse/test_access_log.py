"""pipeline/parse/access_log.py: nginx/Apache combined and common lines."""

from __future__ import annotations

from pipeline.parse import access_log

from .samples import NGINX


def test_nginx_combined() -> None:
    out = access_log.parse(NGINX)
    assert out is not None
    assert out["client.ip"] == "192.168.1.1"
    assert out["http.request.method"] == "GET"
    assert out["url.path"] == "/api/users"
    assert out["http.version"] == "1.1"
    assert out["http.response.status_code"] == 200
    assert out["http.response.body.bytes"] == 1234
    assert out["user_agent.original"] == "Mozilla/5.0"
    assert "http.request.referrer" not in out  # "-" means none
    assert out["@timestamp"].isoformat() == "2026-01-19T10:30:00+00:00"


def test_apache_common_with_user_query_and_dash_bytes() -> None:
    line = '10.0.0.7 - frank [10/Oct/2025:13:55:36 -0700] "POST /login?next=%2Fhome HTTP/1.0" 503 - '
    out = access_log.parse(line.strip())
    assert out is not None
    assert out["user.name"] == "frank"
    assert out["url.path"] == "/login" and out["url.query"] == "next=%2Fhome"
    assert out["http.response.status_code"] == 503 and out["log.level"] == "ERROR"
    assert "http.response.body.bytes" not in out
    assert out["@timestamp"].utcoffset().total_seconds() == -7 * 3600


def test_access_log_escaped_quotes_in_agent_and_referrer() -> None:
    line = (
        '2001:db8::1 - - [19/Jan/2026:10:30:00 +0000] "GET / HTTP/2.0" 404 0 '
        '"https://ex.com/?q=\\"x\\"" "curl/8.5.0 \\"quoted\\""'
    )
    out = access_log.parse(line)
    assert out is not None and out["client.ip"] == "2001:db8::1"
    assert out["http.request.referrer"] == 'https://ex.com/?q=\\"x\\"'
    assert out["log.level"] == "WARN"
