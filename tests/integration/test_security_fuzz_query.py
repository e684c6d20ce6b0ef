"""Fuzz suite, query API (issue 16): hostile shapes at a real `logharbor ui` subprocess.

Hypothesis drives a real ``logharbor gateway`` (own Kafka topic) and a real ``logharbor ui``
subprocess (real OpenSearch) with what attackers send: deep nesting, oversized values, wrong
types, odd unicode, control characters, parenthesis and NOT chains, absurd times and numbers.
For every example: the answer is a 4xx (or the success status) — never a 5xx; the process log
holds no traceback (a client error is not a server fault, and tracebacks per request are a
log flood); and a normal request is served right after. Bounded: ~1 minute on a quiet box.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_api_support import corpus, delete_tenant, ensure_templates, index_docs, new_tenant, utcnow

from gateway.testing import keys

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("LOGHARBOR_FUZZ_EXAMPLES", "120"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LogTail:
    """The new part of a process's log since the last look."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pos = 0

    def new(self) -> str:
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        self.pos += len(data)
        return data.decode(errors="replace")


def _request(port: int, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------- hostile values

CONTROL = st.characters(min_codepoint=0, max_codepoint=31) | st.sampled_from(["\x7f", "\x85", "\u2028", "\u202e",
                                                                               "\ufeff"])
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)) | CONTROL, max_size=60)
ODD_TEXT = _TEXT | _TEXT.map(lambda t: t + "\x1b[2J\x1b]0;pwned\x07\rFORGED")


def nested(depth: int, leaf: object = 1) -> object:
    value = leaf
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


json_scalar = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | ODD_TEXT
json_value = st.recursive(json_scalar, lambda c: st.lists(c, max_size=3) | st.dictionaries(ODD_TEXT, c, max_size=3),
                          max_leaves=12)
deep_value = st.integers(1, 400).map(nested)
hostile_event = st.fixed_dictionaries({}, optional={
    "message": ODD_TEXT | st.integers(1, 90_000).map(lambda n: "A" * n) | json_value,
    "level": ODD_TEXT | json_scalar,
    "timestamp": st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "now-999999999d", 1e300, -1])
    | ODD_TEXT,
    "host": json_value,
    "fields": json_value | deep_value | st.dictionaries(ODD_TEXT, deep_value, max_size=2),
    "raw": ODD_TEXT,
    "format": st.sampled_from(["auto", "nginx", "json", "syslog", "\x00"]),
    "meta": json_value,
    "labels": json_value,
    "service": json_value | deep_value,
})
def _deep_json(n: int) -> bytes:
    return b"[" * n + b"1" + b"]" * n


def _dumps_or_raw(v: object) -> bytes:
    try:
        return orjson.dumps(v)
    except orjson.JSONEncodeError:  # orjson refuses past 254 levels: write the bytes by hand instead
        return _deep_json(400)


ingest_body = st.one_of(
    st.lists(hostile_event, min_size=1, max_size=8).map(_dumps_or_raw),
    st.lists(hostile_event, min_size=1, max_size=8).map(lambda evs: b"\n".join(_dumps_or_raw(e) for e in evs)),
    deep_value.map(lambda v: _dumps_or_raw([{"message": "m", "fields": v}])),
    st.integers(200, 2000).map(lambda n: _deep_json(n)),
    st.integers(200, 1000).map(lambda n: b'[{"message": "m", "fields": ' + b'{"a":' * n + b"1" + b"}" * n + b"}]"),
    st.binary(max_size=2000),
    st.sampled_from([b'[{"message": "\\ud800"}]', b'[{"message": "a\\u0000b"}]', b"[{\"message\": 1e999}]",
                     b'{"message": "x"' + b" " * 10 + b"}", b"[]", b"null", b'"str"', b"[[[]]]"]),
)


# ---------------------------------------------------------------- the query API

QUERY_OK = {200, 400, 404}
DEPTHY = st.integers(1, 600).flatmap(lambda n: st.sampled_from([
    "(" * n + "error" + ")" * n, "NOT " * n + "error", "-" * n + "x", "NOT (" * n + "a" + ")" * n,
    " AND ".join(["a"] * n), " OR ".join(f"f{i}:v" for i in range(n)), "a:(" + " OR ".join(["b"] * n) + ")",
]))
Q = ODD_TEXT | DEPTHY | st.sampled_from([
    "last 999999999 days", "since 0001-01-01", "2024-13-45", "message:*a*b*c*", "x IN (" + ",".join("1" * 2000) + ")",
    'message LIKE "%' + "_" * 300 + '"', "@timestamp > 99999999999999999999", "field.\x00 = 1", "a:b:c:d", '"', "\\",
    "today during business hours weekdays", "status >= -1e308",
])
TIME = ODD_TEXT | st.sampled_from(["now-999999999d", "now-99999w", "0", "99999999999999999", "-1", "now+5d",
                                   "0001-01-01", "9999-12-31T23:59:59Z", "1e309", "last 10000000 years"])
NUM = st.sampled_from(["0", "-1", "999999999999999999999", "1e3", "NaN", "", "\x00", "2147483648"])
PARAMS = st.fixed_dictionaries({}, optional={
    "q": Q, "from": TIME, "to": TIME, "level": ODD_TEXT | st.sampled_from(["error,warn+", "DEBUG+", "+"]),
    "source": ODD_TEXT, "limit": NUM, "offset": NUM, "interval": ODD_TEXT | st.sampled_from(
        ["0s", "1s", "999999999d", "-1m", "1y", "auto"]),
    "metric": st.sampled_from(["count", "avg", "percentiles", "cardinality", "error_rate", "nope"]),
    "field": ODD_TEXT | st.sampled_from(["status", "message", "@timestamp", "_id"]),
    "group_by": ODD_TEXT | st.sampled_from(["host,source,level", "a,b,c,d", "message"]),
    "size": NUM, "percents": ODD_TEXT | st.sampled_from(["50,101", "nan", "1e400"]),
    "sort": ODD_TEXT | st.sampled_from(["-message", "@timestamp:sideways", "_script"]),
    "fields": ODD_TEXT, "columns": ODD_TEXT, "format": st.sampled_from(["csv", "text", "json", "ndjson", "xml"]),
    "cursor": ODD_TEXT | st.sampled_from(["eyJ0ZW5hbnQiOiAieCJ9.bad"]), "context": NUM,
    "related": st.sampled_from(["request_id", "trace_id,user_id", "nope"]),
})
PATHS = st.sampled_from(["/api/v1/logs/search", "/api/v1/logs/aggregate", "/api/v1/logs/export", "/api/v1/fields",
                         "/api/v1/logs/some-id", "/api/v1/logs/%00%0d%0a"])


@pytest.fixture(scope="module")
def ui(os_client, os_url, kafka_bootstrap):
    ensure_templates(os_client)
    tenant = new_tenant()
    index_docs(os_client, tenant, corpus(tenant, 300, utcnow()))
    token, _ = keys(os_url, "create", tenant=tenant, source="fuzz", scopes=["read"], rate=1e7, burst=1e7)
    port = _free_port()
    log = tempfile.NamedTemporaryFile(prefix="lh-ui-fuzz-", suffix=".log", delete=False)
    env = {**os.environ, "LOGHARBOR_OPENSEARCH_URL": os_url, "LOGHARBOR_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "LOGHARBOR_UI_ROLLUP_INTERVAL_S": "0", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "--port", str(port), "--log-level", "INFO"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _request(port, "GET", "/api/v1/openapi.json")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "ui subprocess did not start"
            time.sleep(0.1)
        yield port, {"Authorization": f"Bearer {token}"}, LogTail(log.name)
    finally:
        proc.terminate()
        proc.wait(10)
        delete_tenant(os_client, tenant)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=PATHS, params=PARAMS)
def test_fuzz_query_api_hostile_parameters_are_4xx_without_traceback(ui, path, params):
    port, headers, log = ui
    if path.endswith("/export"):
        params = {**params, "limit": "5"}
    status, answer = _request(port, "GET", path + "?" + urllib.parse.urlencode(params), headers=headers)
    assert status in QUERY_OK, (status, answer[:300], params)
    text = log.new()
    assert "Traceback" not in text, (params, text[-2000:])
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    status, answer = _request(port, "GET", "/api/v1/logs/search?" + urllib.parse.urlencode(
        {"q": "payment", "from": since, "limit": "3"}), headers=headers)
    assert status == 200, answer[:300]
