"""Fuzz suite, ingest API (issue 16): hostile bodies at a real ``logharbor gateway`` (own topic).

Hypothesis sends what attackers send: nesting up to 2000 deep, entries over the size limit,
wrong types, odd unicode and control characters, broken JSON/NDJSON. For every example the
answer is a documented 4xx (or 202) — never a 5xx (Kafka is up, so not even 503); the gateway's
log holds no traceback; and a normal batch is accepted (202) right after. Bounded: ~30 s.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_test_support import EXAMPLES, LogTail, ingest_body, request

from gateway.testing import GatewayProcess, create_topic, keys

pytestmark = [pytest.mark.integration, pytest.mark.slow]


# ---------------------------------------------------------------- the gateway

GATEWAY_OK = {202, 400, 401, 403, 408, 413, 415, 429}


@pytest.fixture(scope="module")
def gateway(servers, kafka_bootstrap, os_url, os_client):
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": create_topic(kafka_bootstrap)}
    with GatewayProcess(env=env) as g:
        g.wait_ready()
        token, rec = keys(os_url, "create", tenant="fuzzsec", source="fuzz", scopes=["ingest"], rate=1e7, burst=1e7)
        try:
            yield g, token, LogTail(g.log.name)
        finally:
            os_client.delete(index=".logharbor-keys", id=rec.key_id, refresh=True, ignore=[404])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=ingest_body, ndjson=st.booleans())
def test_fuzz_ingest_hostile_bodies_are_4xx_without_traceback(gateway, body, ndjson):
    g, token, log = gateway
    headers = {"Authorization": f"Bearer {token}",
               "Content-Type": "application/x-ndjson" if ndjson else "application/json"}
    status, answer = request(g.port, "POST", "/ingest", body, headers)
    assert status in GATEWAY_OK, (status, answer[:300], body[:200])
    assert "Traceback" not in log.new(), body[:200]
    normal = orjson.dumps([{"message": "normal request after a hostile one", "level": "info",
                            "timestamp": datetime.now(UTC).isoformat()}])
    status, answer = request(g.port, "POST", "/ingest", normal, {**headers, "Content-Type": "application/json"})
    assert status == 202, answer[:300]




@pytest.mark.parametrize("what", ["long request line", "long header", "bad header"])
def test_malformed_http_is_one_log_line_not_a_traceback(gateway, what):
    g, token, log = gateway
    log.new()
    path, headers = "/ingest", {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if what == "long request line":
        path = "/ingest?" + "a" * 20_000
    elif what == "long header":
        headers["X-Filler"] = "b" * 20_000
    else:
        headers["Bad Header"] = "x"
    try:
        status, _ = request(g.port, "POST", path, b"[]", headers)
        assert 400 <= status < 500
    except ConnectionError:  # aiohttp may answer 400 and close before the client finished sending
        pass
    text = log.new()
    assert "Traceback" not in text, text[-2000:]
    normal = orjson.dumps([{"message": "after malformed HTTP", "timestamp": datetime.now(UTC).isoformat()}])
    ok = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    assert request(g.port, "POST", "/ingest", normal, ok)[0] == 202
