"""Issue 16 items 1 and 3 against a real gateway process and the real Kafka broker.

1. One deeply nested event used to fail serialisation, be reported as a Kafka failure (503)
   and, three times in a row, make the gateway drop its producer for every tenant. Now the
   depth is checked per entry before anything is produced (400 naming the limit), and the
   producer stays up for the next request.
3. Key-derived metadata cannot be set by the client: refused (400), never merged.
"""

from __future__ import annotations

import time

import orjson
import pytest
import requests
from gateway_support import NDJSON, new_key, now_iso, post, running_gateway

from gateway.testing import GatewayProcess, read_topic
from logharbor.envelope import Envelope

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gw(servers, topic: str):
    yield from running_gateway({"LOGHARBOR_KAFKA_RAW_TOPIC": topic, "LOGHARBOR_GATEWAY_KEY_REFRESH_S": "1"})


def deep_line(levels: int) -> bytes:
    return b'{"timestamp": "' + now_iso().encode() + b'", "message": "deep", "fields": ' + (
        b'{"a":' * levels + b"1" + b"}" * levels
    ) + b"}"


def test_deep_nesting_is_400_before_producing_and_never_drops_the_producer(gw, os_url, kafka_bootstrap, topic,
                                                                           unique_tenant):
    key = new_key(os_url, unique_tenant)
    other = new_key(os_url, unique_tenant + "-b")
    for _ in range(5):  # three used to be enough to drop the producer for every tenant
        r = post(gw, deep_line(300), key, NDJSON)
        assert r.status_code == 400, r.text
        assert r.json()["rejected"][0]["errors"] == ["entry: nested deeper than the limit of 32 levels"]
    good = orjson.dumps({"timestamp": now_iso(), "message": "fine"})
    mixed = post(gw, good + b"\n" + deep_line(40), key, NDJSON)
    assert mixed.status_code == 202, mixed.text
    assert mixed.json()["accepted"] == 1 and mixed.json()["rejected"][0]["index"] == 1
    r = post(gw, orjson.dumps({"timestamp": now_iso(), "msg": "other tenant still served"}), other, NDJSON)
    assert r.status_code == 202, r.text
    metrics = requests.get(gw.url + "/metrics", timeout=10).text
    errors = [ln for ln in metrics.splitlines() if ln.startswith("logharbor_gateway_kafka_produce_errors_total")]
    assert errors and float(errors[0].split()[-1]) == 0.0, errors
    mine = [Envelope.from_bytes(rec.value) for rec in read_topic(kafka_bootstrap, topic)]
    mine = [e for e in mine if e.tenant == unique_tenant]
    assert [e.message for e in mine] == ["fine"]  # nothing of the deep batches was written


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"meta": {"audit": True}}, "meta.audit"),
        ({"labels": {"tenant": "victim"}}, "labels.tenant"),
        ({"service": {"name": {"hidden": True}}}, "service.name"),
        ({"fields": {"labels": {"key_id": "forged"}}}, "labels.key_id"),
    ],
)
def test_key_derived_paths_are_refused(gw, os_url, unique_tenant, extra: dict, path: str):
    key = new_key(os_url, unique_tenant)
    r = post(gw, orjson.dumps({"timestamp": now_iso(), "message": "m", **extra}), key, NDJSON)
    assert r.status_code == 400, r.text
    assert r.json()["rejected"][0]["errors"][0].startswith(f"{path}: set by the API key")


def test_audit_key_cannot_escape_and_environment_is_the_keys(gw, os_url, kafka_bootstrap, topic, unique_tenant):
    audit = new_key(os_url, unique_tenant, audit=True, environment="prod")
    r = post(gw, orjson.dumps({"timestamp": now_iso(), "message": "m", "meta": {"audit": False}}), audit, NDJSON)
    assert r.status_code == 400, r.text
    r = post(gw, orjson.dumps({"timestamp": now_iso(), "message": "kept", "environment": "prod"}), audit, NDJSON)
    assert r.status_code == 202, r.text
    mine = [Envelope.from_bytes(rec.value) for rec in read_topic(kafka_bootstrap, topic)]
    env = next(e for e in mine if e.tenant == unique_tenant)
    assert env.meta["audit"] is True and env.meta["environment"] == "prod"


async def _small_topic(bootstrap: str, name: str) -> None:
    from logharbor.topics import ensure_topics

    await ensure_topics(bootstrap, {name: 1}, configs={"max.message.bytes": "1500"})


def test_partial_write_503_and_the_resend_carries_the_same_ids(servers, os_url, kafka_bootstrap, unique_tenant):
    """Kafka takes the first record of a batch and refuses the second (larger than the topic allows):
    503 saying 1 of 2 was written, and an identical resend writes the first again under the same id,
    which the pipeline drops as a duplicate (op_type=create)."""
    from gateway.testing import run_async, unique_topic

    name = unique_topic()
    run_async(_small_topic(kafka_bootstrap, name))
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": name, "LOGHARBOR_GATEWAY_KAFKA_MAX_BATCH_BYTES": "1024"}
    with GatewayProcess(env=env) as g:
        g.wait_ready()
        key = new_key(os_url, unique_tenant)
        body = orjson.dumps({"timestamp": now_iso(), "message": "small"}) + b"\n" + orjson.dumps(
            {"timestamp": now_iso(), "message": "big " + "x" * 4000}
        )
        answers = [post(g, body, key, NDJSON)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the producer is replaced at once; resend until it is back
            r = post(g, body, key, NDJSON)
            if "Kafka is unavailable" not in r.text:
                break
            time.sleep(0.5)
        answers.append(r)
    for r in answers:
        assert r.status_code == 503, r.text
        assert "1 of 2 records were written" in r.json()["error"], r.text
        assert r.headers.get("Retry-After")
    written = [Envelope.from_bytes(rec.value) for rec in read_topic(kafka_bootstrap, name)]
    assert [e.message for e in written] == ["small", "small"]
    assert written[0].id == written[1].id
