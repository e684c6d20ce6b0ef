"""Hypothesis throws malformed bodies, headers and encodings at /ingest: never a 5xx, never a hang.

The only 5xx the contract allows is 503 with Retry-After (over a limit, Kafka unavailable).
Every answer must be one of the documented statuses with a JSON body saying what happened.
"""

from __future__ import annotations

import gzip
import http.client
import socket
from datetime import UTC, datetime

import orjson
import pytest
from gateway_support import running_gateway
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.testing import create_topic, keys

pytestmark = pytest.mark.integration
DOCUMENTED = {202, 400, 401, 403, 408, 413, 415, 429, 503}


@pytest.fixture(scope="module")
def gw(servers, kafka_bootstrap):
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": create_topic(kafka_bootstrap), "LOGHARBOR_GATEWAY_MAX_BATCH_BYTES": "200000"}
    yield from running_gateway(env)


@pytest.fixture(scope="module")
def key(gw, os_url) -> str:
    token, _ = keys(os_url, "create", tenant="fuzz", source="web", scopes=["ingest"], rate=1e7, burst=1e7)
    return token


json_scalar = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text()
json_value = st.recursive(
    json_scalar, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=10
)
event = st.fixed_dictionaries(
    {},
    optional={
        "timestamp": st.sampled_from([datetime.now(UTC).isoformat(), "2999-01-01T00:00:00Z", "x", 1e20, -5])
        | json_scalar,
        "level": st.sampled_from(["info", "WARNING", "crit", "nope", 3]) | json_scalar,
        "message": st.text(max_size=50) | json_scalar,
        "host": json_scalar,
        "fields": json_value,
        "raw": st.text(max_size=40),
        "format": st.sampled_from(["auto", "nginx", "bogus"]),
        "tenant": st.sampled_from(["fuzz", "other"]),
        "id": st.text(max_size=20),
    },
)


def encode(payload: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(payload)
    if how == "truncated-gzip":
        return gzip.compress(payload)[: max(1, len(payload) // 3)]
    if how == "gzip-members":
        return b"".join(gzip.compress(payload[i : i + 5]) for i in range(0, len(payload), 5))
    return payload


bodies = st.one_of(
    st.binary(max_size=3000),
    st.lists(event, max_size=20).map(orjson.dumps),
    st.lists(event, max_size=20).map(lambda evs: b"\n".join(orjson.dumps(e) for e in evs)),
    st.lists(json_value, max_size=5).map(orjson.dumps),
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=bodies,
    how=st.sampled_from(["identity", "gzip", "truncated-gzip", "gzip-members"]),
    content_encoding=st.sampled_from([None, "gzip", "identity", "zstd", "br", "gzip, gzip", "GZIP"]) | header_text,
    content_type=st.sampled_from([None, "application/json", "application/x-ndjson", "text/plain", "image/png"])
    | header_text,
    auth=st.sampled_from(["good", "none", "junk", "bearer-junk"]),
    idem=st.none() | header_text,
    path=st.sampled_from(["/ingest", "/api/v1/ingest"]),
)
def test_fuzz_ingest_never_5xx_never_hangs(gw, key, body, how, content_encoding, content_type, auth, idem, path):
    headers: dict[str, str] = {}
    if content_encoding is not None:
        headers["Content-Encoding"] = content_encoding
    if content_type is not None:
        headers["Content-Type"] = content_type
    if auth == "good":
        headers["Authorization"] = f"Bearer {key}"
    elif auth == "junk":
        headers["Authorization"] = "Basic Zm9vOmJhcg=="
    elif auth == "bearer-junk":
        headers["Authorization"] = "Bearer lh_live_" + "q" * 60
    if idem is not None:
        headers["Idempotency-Key"] = idem
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)  # a hang fails as a timeout
    try:
        conn.request("POST", path, body=encode(body, how), headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    assert resp.status in DOCUMENTED, (resp.status, data[:300])
    if resp.status == 503:
        assert resp.getheader("Retry-After")
    doc = orjson.loads(data)
    assert ("accepted" in doc) if resp.status == 202 else doc["error"]


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(min_size=1, max_size=600))
def test_fuzz_raw_http_bytes(gw, raw):
    """Garbage on the socket: an HTTP 4xx or a closed connection, within the header timeout."""
    with socket.create_connection(("127.0.0.1", gw.port), timeout=20) as s:
        s.sendall(raw)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            return
        try:
            answer = s.recv(200)
        except ConnectionResetError:
            return
    if answer:
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 400
        assert status < 500 or status == 503, answer
