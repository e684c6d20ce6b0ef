"""Every status code of POST /ingest against a real gateway process, Kafka and OpenSearch.

Each gateway here writes to its own freshly created topic, so the records a test reads back
are exactly the ones it produced.
"""

from __future__ import annotations

import gzip
import socket
import time
from datetime import timedelta

import orjson
import pytest
import requests
from gateway_support import events, new_key, now_iso, post, running_gateway

from gateway.testing import GatewayProcess, create_topic, keys, read_topic
from logharbor.envelope import Envelope
from logharbor.ids import stable_id

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gw(servers, topic: str):
    yield from running_gateway({"LOGHARBOR_KAFKA_RAW_TOPIC": topic, "LOGHARBOR_GATEWAY_KEY_REFRESH_S": "1"})


@pytest.fixture(scope="module")
def tight(servers, kafka_bootstrap: str):
    """A gateway with small limits and the strict policy, for the refusals that need them."""
    env = {
        "LOGHARBOR_KAFKA_RAW_TOPIC": create_topic(kafka_bootstrap),
        "LOGHARBOR_GATEWAY_POLICY": "strict",
        "LOGHARBOR_GATEWAY_MAX_BATCH_BYTES": str(1024 * 1024),
        "LOGHARBOR_GATEWAY_MAX_CONCURRENT_REQUESTS": "2",
        "LOGHARBOR_GATEWAY_BODY_TIMEOUT_S": "2",
        "LOGHARBOR_GATEWAY_HEADER_TIMEOUT_S": "1",
    }
    yield from running_gateway(env)


async def _default_partition(bootstrap: str, topic: str, key: bytes) -> int:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, b'{"probe": true}', key=key)
        return meta.partition
    finally:
        await producer.stop()


def default_partition(bootstrap: str, key: bytes) -> int:
    from gateway.testing import run_async

    return run_async(_default_partition(bootstrap, create_topic(bootstrap, partitions=3), key))


def test_202_records_reach_kafka_with_envelope_from_the_key(gw, os_url, kafka_bootstrap, topic, unique_tenant):
    key = new_key(os_url, unique_tenant, source="checkout", environment="prod")
    batch = events(3, host="h1", fields={"order": 7})
    batch[1]["level"] = "warning"
    r = post(gw, batch, key, {"Idempotency-Key": "batch-1"})
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 3, "rejected": []}
    key_id = key.split("_")[2]
    records = [
        rec for rec in read_topic(kafka_bootstrap, topic) if Envelope.from_bytes(rec.value).tenant == unique_tenant
    ]
    assert len(records) == 3
    envs = sorted((Envelope.from_bytes(rec.value) for rec in records), key=lambda e: e.message)
    assert {rec.key for rec in records} == {b"checkout"}
    # the gateway picks the partition itself; it must be the one aiokafka's default send picks
    # (probed on a separate topic with the same partition count, to keep this one envelope-only)
    assert {rec.partition for rec in records} == {default_partition(kafka_bootstrap, b"checkout")}
    assert [e.id for e in envs] == [stable_id(key_id, "batch-1", i) for i in range(3)]
    assert envs[1].level == "WARN" and envs[1].meta["level_original"] == "warning"
    assert all(e.source == "checkout" and e.key_id == key_id and e.meta["environment"] == "prod" for e in envs)
    assert envs[0].fields == {"order": 7} and envs[0].host == "h1"


def test_202_gzip_ndjson_and_alias_path_and_raw_lines(gw, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)
    body = b"\n".join(orjson.dumps(e) for e in events(5)) + b'\n{"raw": "<13>Jan 1 host app: hi", "format": "syslog"}'
    r = post(
        gw,
        gzip.compress(body),
        key,
        {"Content-Encoding": "gzip", "Content-Type": "application/x-ndjson"},
        path="/api/v1/ingest",
    )
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 6


def test_202_partial_lists_rejected_entries_with_field_and_limit(gw, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)
    batch = events(2)
    batch.insert(1, {"timestamp": now_iso(3 * 86400), "level": "info", "message": "from the future"})
    batch.append({"timestamp": now_iso(), "level": "info", "message": "x" * 40_000})
    r = post(gw, batch, key)
    assert r.status_code == 202
    body = r.json()
    assert body["accepted"] == 2
    assert body["rejected"][0]["index"] == 1
    assert body["rejected"][0]["errors"][0].startswith("timestamp: in the future by")
    assert "(allowed skew 300 s)" in body["rejected"][0]["errors"][0]
    assert body["rejected"][1] == {"index": 3, "errors": ["message: 40000 bytes exceeds the limit of 32768 bytes"]}


def test_tenant_a_key_cannot_write_tenant_b(gw, os_url, kafka_bootstrap, topic, unique_tenant):
    other = unique_tenant + "b"
    key = new_key(os_url, unique_tenant)
    r = post(gw, events(1) + events(1, tenant=other) + events(1, tenant=unique_tenant), key)
    assert r.status_code == 202
    assert r.json()["accepted"] == 2
    assert r.json()["rejected"][0]["index"] == 1
    assert "entries cannot name another tenant" in r.json()["rejected"][0]["errors"][0]
    tenants = {Envelope.from_bytes(rec.value).tenant for rec in read_topic(kafka_bootstrap, topic)}
    assert other not in tenants and unique_tenant in tenants


def test_400_invalid_json_and_empty_and_bad_gzip(gw, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)
    r = post(gw, b"[{not json", key)
    assert r.status_code == 400 and r.json()["error"].startswith("body: invalid JSON")
    r = post(gw, b"", key)
    assert r.status_code == 400 and "empty" in r.json()["error"]
    r = post(gw, b"\x1f\x8b\x08\x00garbage", key, {"Content-Encoding": "gzip"})
    assert r.status_code == 400 and "gzip" in r.json()["error"]
    r = post(gw, events(1), key, {"Idempotency-Key": "x" * 500})
    assert r.status_code == 400 and r.json()["error"].startswith("Idempotency-Key")


def test_400_strict_policy_produces_nothing(tight, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)
    r = post(tight, [*events(2), {"timestamp": now_iso(), "level": "loud", "message": "m"}], key)
    assert r.status_code == 400
    body = r.json()
    assert "nothing was accepted (strict policy)" in body["error"]
    assert body["rejected"][0]["index"] == 2 and body["rejected"][0]["errors"][0].startswith("level: 'loud'")


def test_401_unknown_missing_malformed(gw):
    r = post(gw, events(1), "lh_live_zzzzzzzzzzzz_" + "a" * 43)
    assert r.status_code == 401 and r.json()["error"] == "unknown API key"
    r = post(gw, events(1), None)
    assert r.status_code == 401 and "missing Authorization header" in r.json()["error"]
    r = post(gw, events(1), "not-a-key")
    assert r.status_code == 401 and "malformed API key" in r.json()["error"]


def test_401_wrong_secret_for_real_id(gw, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)
    forged = key[: len("lh_live_") + 13] + "b" * 43
    assert post(gw, events(1), forged).status_code == 401


def test_401_expired_says_how_to_renew(gw, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant, expires_in=timedelta(seconds=3))
    time.sleep(3.2)
    r = post(gw, events(1), key)
    assert r.status_code == 401
    assert "expired at" in r.json()["error"] and "logharbor keys rotate" in r.json()["error"]
    # rotating renews it: the new key works and keeps tenant and source
    new, record = keys(os_url, "rotate", key, expires_in=timedelta(days=1))
    assert record.tenant == unique_tenant and record.rotated_from == key.split("_")[2]
    assert post(gw, events(1), new).status_code == 202


def test_403_revoked_and_wrong_scope(gw, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)
    assert post(gw, events(1), key).status_code == 202
    keys(os_url, "revoke", key)
    deadline = time.monotonic() + 10
    while (r := post(gw, events(1), key)).status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert r.status_code == 403 and "revoked" in r.json()["error"]
    reader = new_key(os_url, unique_tenant, scopes=["read"])
    r = post(gw, events(1), reader)
    assert r.status_code == 403 and "lacks the 'ingest' scope" in r.json()["error"]


def test_413_declared_batch_too_large(tight, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)
    big = orjson.dumps(events(1)) + b" " * (1024 * 1024 + 10)
    r = post(tight, big, key)
    assert r.status_code == 413 and "exceeds the batch limit of 1048576 bytes" in r.json()["error"]
    # the connection-level drain did not break the gateway
    assert post(tight, events(1), key).status_code == 202


def test_413_entry_too_large_in_strict_mode(tight, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)
    r = post(tight, events(1, fields={"blob": "z" * 70_000}), key)
    assert r.status_code == 413
    assert "exceeds the limit of 65536 bytes" in r.json()["rejected"][0]["errors"][0]


def test_413_too_many_gzip_members(gw, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)
    body = b"".join(gzip.compress(orjson.dumps(e) + b"\n") for e in events(100))
    r = post(gw, body, key, {"Content-Encoding": "gzip", "Content-Type": "application/x-ndjson"})
    assert r.status_code == 413 and "more than 64 gzip members" in r.json()["error"]


def test_415_unknown_encoding_and_type(gw, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)
    r = post(gw, events(1), key, {"Content-Encoding": "br"})
    assert r.status_code == 415 and "Content-Encoding: 'br' is not supported" in r.json()["error"]
    r = post(gw, events(1), key, {"Content-Type": "text/html"})
    assert r.status_code == 415 and "Content-Type: 'text/html'" in r.json()["error"]


def test_zstd_is_accepted(gw, os_url, unique_tenant):
    import zstandard as zstd  # a dev dependency: the zstd path must be tested
    key = new_key(os_url, unique_tenant)
    r = post(gw, zstd.ZstdCompressor().compress(orjson.dumps(events(4))), key, {"Content-Encoding": "zstd"})
    assert r.status_code == 202 and r.json()["accepted"] == 4


def test_429_token_bucket_per_key_with_retry_after(gw, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant, rate=10, burst=20)
    assert post(gw, events(20), key).status_code == 202
    r = post(gw, events(10), key)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert "10 events/s, burst 20" in r.json()["error"]
    # another key of the same tenant has its own bucket
    assert post(gw, events(5), new_key(os_url, unique_tenant)).status_code == 202


def _slow_request(gw: GatewayProcess, key: str) -> socket.socket:
    """Headers sent, body trickling: the request is in flight in the gateway."""
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(
        b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {key}\r\n".encode()
        + b"Content-Length: 100000\r\n\r\n["
    )
    return s


def test_503_over_the_concurrency_limit_and_408_slow_body(tight, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)
    held = [_slow_request(tight, key), _slow_request(tight, key)]
    try:
        time.sleep(0.3)
        r = post(tight, events(1), key)
        assert r.status_code == 503 and "concurrent requests" in r.json()["error"]
        assert r.headers["Retry-After"] == "1"
        # the held requests time out on their body (2 s here) with a 408 and free their slots
        held[0].settimeout(10)
        answer = held[0].recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer
    finally:
        for s in held:
            s.close()
    time.sleep(0.5)
    assert post(tight, events(1), key).status_code == 202


def test_slow_headers_are_cut_off(tight):
    s = socket.create_connection(("127.0.0.1", tight.port))
    s.settimeout(10)
    s.sendall(b"POST /ingest HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    assert s.recv(4096) == b""  # closed by the 1 s header timeout
    assert time.monotonic() - started < 5
    s.close()


def test_health_ready_metrics(gw, os_url, unique_tenant):
    assert requests.get(gw.url + "/health", timeout=5).json()["status"] == "ok"
    ready = requests.get(gw.url + "/ready", timeout=10)
    assert ready.status_code == 200 and ready.json()["checks"] == {"kafka": "ok", "opensearch": "ok"}
    post(gw, events(1), new_key(os_url, unique_tenant))
    text = requests.get(gw.url + "/metrics", timeout=5).text
    for name in (
        'logharbor_gateway_requests_total{route="/ingest",status="202"}',
        "logharbor_gateway_events_accepted_total",
        "logharbor_gateway_auth_failures_total",
        "logharbor_gateway_payload_bytes_decompressed_count",
        "logharbor_gateway_kafka_produce_seconds_count",
        "logharbor_gateway_requests_in_flight",
        "logharbor_gateway_response_seconds_bucket",
        "logharbor_gateway_rate_limited_total",
    ):
        assert name in text, name


def test_auth_attempts_are_audited_without_secrets(gw, os_url, os_client, unique_tenant):
    key = new_key(os_url, unique_tenant)
    key_id = key.split("_")[2]
    post(gw, events(1), key)
    post(gw, events(1), key[:-5] + "xxxxx")
    deadline = time.monotonic() + 15
    hits: list = []
    while time.monotonic() < deadline and len(hits) < 2:
        time.sleep(0.5)
        if os_client.indices.exists(index=".logharbor-audit"):
            os_client.indices.refresh(index=".logharbor-audit")
            hits = os_client.search(index=".logharbor-audit", body={"query": {"term": {"key_id": key_id}}})["hits"][
                "hits"
            ]
    outcomes = sorted(h["_source"]["outcome"] for h in hits)
    assert outcomes == ["ok", "unknown"]
    for h in hits:
        assert h["_source"]["client_ip"] == "127.0.0.1"
        assert key.split("_", 3)[3] not in orjson.dumps(h["_source"]).decode()


def test_sigterm_drains_and_exits_zero(servers, os_url, kafka_bootstrap, unique_tenant):
    key = new_key(os_url, unique_tenant)
    g = GatewayProcess(env={"LOGHARBOR_KAFKA_RAW_TOPIC": create_topic(kafka_bootstrap)}).start()
    try:
        g.wait_ready()
        assert post(g, events(10), key).status_code == 202
    finally:
        code = g.stop()
    assert code == 0, g.output()[-2000:]


def _expect_request(gw: GatewayProcess, key: str, length: int) -> tuple[socket.socket, bytes]:
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    s.sendall(
        b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
        + f"Authorization: Bearer {key}\r\nContent-Length: {length}\r\n\r\n".encode()
    )
    return s, s.recv(4096)


def test_expect_100_continue_refuses_before_the_body_is_sent(gw, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)
    body = orjson.dumps(events(3))
    s, first = _expect_request(gw, "lh_live_zzzzzzzzzzzz_" + "a" * 43, len(body))
    s.close()
    assert first.startswith(b"HTTP/1.1 401") and b"unknown API key" in first
    s, first = _expect_request(gw, key, 50 * 1024 * 1024)
    s.close()
    assert first.startswith(b"HTTP/1.1 413")
    s, first = _expect_request(gw, key, len(body))
    try:
        assert first == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(body)
        answer = s.recv(4096)
    finally:
        s.close()
    assert answer.startswith(b"HTTP/1.1 202") and b'"accepted":3' in answer


def test_large_batch_validated_in_slices_keeps_indices_and_leaves_debt(gw, os_url, unique_tenant):
    key = new_key(os_url, unique_tenant)  # default 1000/s, burst 5000: a full bucket admits one big batch
    batch = events(20_000)
    batch[5000]["level"] = "nonsense"
    batch[15001]["message"] = ""
    r = post(gw, gzip.compress(orjson.dumps(batch)), key, {"Content-Encoding": "gzip"})
    assert r.status_code == 202, r.text[:500]
    assert r.json()["accepted"] == 19_998
    assert [x["index"] for x in r.json()["rejected"]] == [5000, 15001]
    again = post(gw, events(1), key)  # the bucket is now in debt: refused before the body is read
    # ~15 s of debt, minus however long this (busy, shared) box took to validate the batch
    assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 5
