"""The pipeline against a real Kafka and OpenSearch: exactly-once indexing, routing and ECS
fields, redaction, DLQ, duplicates on replay, publish to the processed topic, ops endpoints.

Every test uses its own topics, consumer group and tenant, so tests never see each other's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from logharbor.config import KafkaSettings, OpenSearchSettings
from logharbor.envelope import Envelope
from logharbor.ids import stable_id
from logharbor.topics import ensure_topics
from pipeline.settings import PipelineSettings
from pipeline.worker import run_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

LINES = (
    '192.168.1.{n} - - [19/Jan/2026:10:30:00 +0000] "GET /api/users/{i} HTTP/1.1" 200 {i} "-" "curl/8.5.0"',
    "2026-01-19 10:30:00 ERROR [DatabaseService] Connection timeout after {i}s",
    "2026-01-19 10:30:00 WARN [UserService] slow login for user {i}",
    "<34>Jan 19 10:30:00 web-server app[{n}]: User login failed {i}",
    '{{"msg": "request done {i}", "level": "info", "ts": "2026-01-19T10:30:00Z", "duration_ms": {n}}}',
    'ts=2026-01-19T10:30:00Z level=debug msg="cache miss" key=k{i}',
)


@dataclass
class Topics:
    kafka: KafkaSettings
    tenant: str

    @property
    def raw(self) -> str:
        return self.kafka.raw_topic


async def create_topics(bootstrap: str, names: Iterable[str], partitions: int) -> None:
    """The tests' own topics, created by LogHarbor's one ensure_topics."""
    await ensure_topics(bootstrap, dict.fromkeys(names, partitions))


@pytest.fixture(scope="module", name="templates")
def templates_fixture(os_client) -> None:
    """Index templates and policies (idempotent), so data streams are created on first write."""
    from opensearch.bootstrap import bootstrap

    bootstrap(os_client)


@pytest.fixture(name="topics")
async def topics_fixture(kafka_bootstrap: str, unique_tenant: str, templates, os_client) -> AsyncIterator[Topics]:
    suffix = uuid.uuid4().hex[:10]
    kafka = KafkaSettings(
        bootstrap=kafka_bootstrap,
        raw_topic=f"lh-test-raw-{suffix}",
        processed_topic=f"lh-test-processed-{suffix}",
        dlq_topic=f"lh-test-dlq-{suffix}",
        consumer_group=f"lh-test-pipeline-{suffix}",
    )
    await create_topics(kafka_bootstrap, [kafka.raw_topic], 4)
    await create_topics(kafka_bootstrap, [kafka.processed_topic, kafka.dlq_topic], 1)
    yield Topics(kafka, unique_tenant)
    # The dev servers are shared: leave no test topics or data streams behind.
    await delete_topics(kafka_bootstrap, [kafka.raw_topic, kafka.processed_topic, kafka.dlq_topic])
    delete_streams(os_client, unique_tenant)


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        with contextlib.suppress(Exception):
            await admin.delete_topics(names)
    finally:
        await admin.close()


def delete_streams(os_client, tenant: str) -> None:
    with contextlib.suppress(Exception):
        os_client.indices.delete_data_stream(name=f"logs-{tenant}-*")


def envelopes(tenant: str, count: int, *, start: int = 0) -> list[Envelope]:
    out = []
    for i in range(start, start + count):
        line = LINES[i % len(LINES)].format(i=i, n=i % 250)
        out.append(
            Envelope(
                id=stable_id(tenant, i),
                tenant=tenant,
                source=f"svc-{i % 5}",
                received_at="2026-01-19T10:30:01Z",
                raw=line,
                format="auto",
                meta={"environment": "staging"},
            )
        )
    return out


async def produce(bootstrap: str, topic: str, items: Iterable[Envelope | bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20)
    await producer.start()
    try:
        futures = []
        for item in items:
            if isinstance(item, Envelope):
                futures.append(await producer.send(topic, item.to_bytes(), key=item.source.encode()))
            else:
                futures.append(await producer.send(topic, item, key=b"garbage"))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def pipeline_running(topics: Topics, os_url: str, **settings_kw) -> AsyncIterator[asyncio.Task]:
    stop = asyncio.Event()
    settings = PipelineSettings(**settings_kw)
    serve_http = settings_kw.get("http_port") is not None
    task = asyncio.create_task(
        run_pipeline(
            settings,
            stop,
            kafka=topics.kafka,
            opensearch=OpenSearchSettings(url=os_url),
            serve_http=serve_http,
        )
    )
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=90)


def stored_count(os_client, tenant: str, cls: str = "*") -> int:
    index = f"logs-{tenant}-{cls}"
    os_client.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
    return os_client.count(index=index, ignore_unavailable=True, allow_no_indices=True)["count"]


async def wait_for_count(
    os_client, tenant: str, expected: int, within_s: float, task: asyncio.Task, cls: str = "*"
) -> int:
    deadline = time.monotonic() + within_s
    count = -1
    while time.monotonic() < deadline:
        if task.done():
            task.result()  # surface a crash of the pipeline
            raise AssertionError("pipeline stopped early")
        count = await asyncio.to_thread(stored_count, os_client, tenant, cls)
        if count >= expected:
            return count
        await asyncio.sleep(1.0)
    return count


def duplicate_ids(os_client, tenant: str) -> list:
    resp = os_client.search(
        index=f"logs-{tenant}-*",
        body={
            "size": 0,
            "aggs": {"dups": {"terms": {"field": "event.id", "min_doc_count": 2, "size": 10}}},
        },
    )
    return resp["aggregations"]["dups"]["buckets"]


def distinct_ids(os_client, tenant: str) -> set[str]:
    ids: set[str] = set()
    after = None
    while True:
        comp = {"size": 5000, "sources": [{"id": {"terms": {"field": "event.id"}}}]}
        if after:
            comp["after"] = after
        resp = os_client.search(index=f"logs-{tenant}-*", body={"size": 0, "aggs": {"ids": {"composite": comp}}})
        agg = resp["aggregations"]["ids"]
        ids.update(b["key"]["id"] for b in agg["buckets"])
        after = agg.get("after_key")
        if not agg["buckets"] or not after:
            return ids


async def read_topic(bootstrap: str, topic: str, minimum: int, within_s: float = 30) -> list[dict]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    out: list[dict] = []
    try:
        deadline = time.monotonic() + within_s
        while len(out) < minimum and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            for recs in batch.values():
                out.extend(orjson.loads(r.value) for r in recs)
    finally:
        await consumer.stop()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------


async def test_twenty_thousand_events_indexed_exactly_once_and_replay_is_duplicates(
    topics: Topics, os_url: str, os_client, kafka_bootstrap: str
) -> None:
    n = 20_000
    sent = envelopes(topics.tenant, n)
    await produce(kafka_bootstrap, topics.raw, sent)

    started = time.monotonic()
    async with pipeline_running(topics, os_url) as task:
        count = await wait_for_count(os_client, topics.tenant, n, within_s=300, task=task)
    elapsed = time.monotonic() - started
    assert count == n, f"{count} of {n} stored"
    assert duplicate_ids(os_client, topics.tenant) == []
    assert distinct_ids(os_client, topics.tenant) == {e.id for e in sent}
    print(f"\n{n} events through Kafka → pipeline → OpenSearch in {elapsed:.1f} s ({n / elapsed:.0f}/s)")

    # Every class got its share: ERROR → errors, DEBUG → debug, the rest → standard.
    assert stored_count(os_client, topics.tenant, "errors") >= n // 6
    assert stored_count(os_client, topics.tenant, "debug") == n // 6 + (1 if n % 6 > 5 else 0)

    # Replay the whole topic under a new group: every record is a 409, nothing doubles.
    from prometheus_client import REGISTRY

    dup_before = REGISTRY.get_sample_value("logharbor_pipeline_duplicates_avoided_total") or 0
    topics.kafka = topics.kafka.model_copy(update={"consumer_group": topics.kafka.consumer_group + "-replay"})
    async with pipeline_running(topics, os_url):
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            dups = (REGISTRY.get_sample_value("logharbor_pipeline_duplicates_avoided_total") or 0) - dup_before
            if dups >= n:
                break
            await asyncio.sleep(1.0)
    assert dups == n
    assert stored_count(os_client, topics.tenant) == n
    assert duplicate_ids(os_client, topics.tenant) == []


async def test_fields_routing_redaction_filters_publish_and_ops_endpoints(
    topics: Topics, os_url: str, os_client, kafka_bootstrap: str, tmp_path
) -> None:
    t = topics.tenant
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    geo_db = tmp_path / "city.mmdb"
    writer = MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    writer.insert_network(
        IPSet(["81.2.69.0/24"]),
        {
            "city": {"names": {"en": "London"}},
            "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
            "location": {"latitude": 51.5142, "longitude": -0.0931},
        },
    )
    writer.to_db_file(str(geo_db))
    prod = {"environment": "production", "datacenter": "fra1"}

    def env(i: int, raw: str, source: str = "web", meta: dict | None = None) -> Envelope:
        return Envelope(
            id=f"{t}-{i}",
            tenant=t,
            source=source,
            received_at="2026-01-19T10:30:05Z",
            raw=raw,
            format="auto",
            meta=meta or {},
        )

    batch = [
        env(1, '192.168.1.1 - - [19/Jan/2026:10:30:00 +0000] "GET /api/users HTTP/1.1" 200 1234 "-" "Mozilla/5.0"'),
        env(
            2,
            "2026-01-19 10:30:00 ERROR [UserService] Failed to authenticate user john@example.com: invalid password",
            meta=prod,
        ),
        env(3, "2026-01-19 10:30:00 DEBUG [Cache] warm", meta=prod),  # dropped: production keeps WARN+
        env(4, '10.0.0.9 - - [19/Jan/2026:10:30:00 +0000] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"'),
        env(5, "2026-01-19 10:30:00 WARN [Auth] retry user=bob password=hunter2 card=4532-1111-2222-3333"),
        env(6, "<34>Jan 19 10:30:00 web-server app[1234]: User login failed"),
        env(7, "complete gibberish that no parser understands"),
        env(8, "2026-01-19 10:30:00 INFO [Iam] role granted", source="iam-audit"),
        env(
            9,
            '81.2.69.160 - - [19/Jan/2026:10:30:00 +0000] "POST /api/orders HTTP/2.0" 502 17 "-" '
            '"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) '
            'Version/17.2 Mobile/15E148 Safari/604.1"',
        ),
    ]
    await produce(kafka_bootstrap, topics.raw, batch)
    port = free_port()
    async with pipeline_running(topics, os_url, http_port=port, http_host="127.0.0.1", geoip_path=geo_db) as task:
        assert await wait_for_count(os_client, t, 7, within_s=120, task=task) == 7
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/health") as r:
                assert r.status == 200
            async with http.get(f"http://127.0.0.1:{port}/ready") as r:
                assert r.status == 200
            async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                text = await r.text()
    assert 'logharbor_pipeline_dropped_events_total{rule="production_min_level"}' in text
    assert 'logharbor_pipeline_dropped_events_total{rule="health_checks"}' in text
    assert "logharbor_pipeline_bulk_latency_seconds_bucket" in text
    assert "logharbor_pipeline_consumer_lag{" in text

    def doc(i: int) -> dict:
        hits = os_client.search(index=f"logs-{t}-*", body={"query": {"term": {"event.id": f"{t}-{i}"}}})["hits"]
        assert hits["total"]["value"] == 1, f"event {i}: {hits['total']}"
        return hits["hits"][0]

    nginx = doc(1)
    assert nginx["_index"].startswith(f".ds-logs-{t}-standard-")
    src = nginx["_source"]
    assert src["@timestamp"] == "2026-01-19T10:30:00.000Z"
    assert src["client"]["ip"] == "192.168.1.1"
    assert src["http"]["request"]["method"] == "GET" and src["url"]["path"] == "/api/users"
    assert src["http"]["response"]["status_code"] == 200 and src["http"]["response"]["body"]["bytes"] == 1234
    assert src["user_agent"]["original"] == "Mozilla/5.0" and src["service"]["name"] == "web"
    assert nginx["_id"] == f"{t}-1"

    auth = doc(2)
    assert auth["_index"].startswith(f".ds-logs-{t}-errors-")
    # stored by the field vocabulary: a name outside ECS under fields.*, "email" as ECS user.email
    assert auth["_source"]["fields"]["action"] == "authenticate"
    assert auth["_source"]["user"]["email"] == "john@example.com"
    assert auth["_source"]["labels"]["environment"] == "production"
    assert auth["_source"]["logharbor"]["datacenter"] == "fra1"  # not an ECS field: LogHarbor's namespace

    secret = doc(5)["_source"]
    assert secret["message"] == "retry user=bob password=[REDACTED] card=****-****-****-3333"
    assert "hunter2" not in orjson.dumps(secret).decode()

    assert doc(6)["_source"]["log"]["syslog"]["facility"]["code"] == 4
    gib = doc(7)["_source"]
    assert gib["message"] == "complete gibberish that no parser understands" and "parse_failure" in gib["tags"]
    assert doc(8)["_index"].startswith(f".ds-logs-{t}-audit-")
    for dropped in (3, 4):
        os_client.indices.refresh(index=f"logs-{t}-*")
        assert (
            os_client.count(index=f"logs-{t}-*", body={"query": {"term": {"event.id": f"{t}-{dropped}"}}})["count"] == 0
        )

    geo = doc(9)
    assert geo["_index"].startswith(f".ds-logs-{t}-errors-")  # 502 → ERROR
    g = geo["_source"]
    assert g["client"]["geo"]["city_name"] == "London" and g["client"]["geo"]["country_iso_code"] == "GB"
    assert g["user_agent"]["name"] == "Mobile Safari" and g["user_agent"]["device"]["name"] == "iPhone"
    own = g["logharbor"]  # derived fields ECS does not define
    assert own["is_error"] is True and own["hour_of_day"] == 10 and own["day_of_week"] == 1
    # client.geo.location is a geo_point: a distance query around London finds it
    near = os_client.search(
        index=f"logs-{t}-*",
        body={"query": {"geo_distance": {"distance": "20km", "client.geo.location": {"lat": 51.5, "lon": -0.1}}}},
    )
    assert [h["_source"]["event"]["id"] for h in near["hits"]["hits"]] == [f"{t}-9"]

    published = await read_topic(kafka_bootstrap, topics.kafka.processed_topic, 7)
    assert sorted(d["event"]["id"] for d in published) == sorted(f"{t}-{i}" for i in (1, 2, 5, 6, 7, 8, 9))
    assert {d["data_stream"]["name"] for d in published} == {
        f"logs-{t}-standard",
        f"logs-{t}-errors",
        f"logs-{t}-audit",
    }
    assert all("hunter2" not in orjson.dumps(d).decode() for d in published)


async def test_dead_letters_and_mapping_conflicts(topics: Topics, os_url: str, os_client, kafka_bootstrap: str) -> None:
    t = topics.tenant

    def env(i: int, **kw) -> Envelope:
        return Envelope(id=f"{t}-{i}", tenant=t, source="api", received_at="2026-01-19T10:30:05Z", **kw)

    first = [env(1, message="shapes the mapping", fields={"client": {"ip": "10.1.2.3"}})]
    later = [
        b"\x00this is not an envelope",
        env(2, message="client as a string conflicts with the object mapping", fields={"client": "acme-corp"}),
        env(3, message="far too many fields", fields={f"f{k}": k for k in range(2100)}),
        env(4, message="an ordinary event after the bad ones"),
    ]
    await produce(kafka_bootstrap, topics.raw, first)
    async with pipeline_running(topics, os_url) as task:
        assert await wait_for_count(os_client, t, 1, within_s=120, task=task) == 1
        await produce(kafka_bootstrap, topics.raw, later)
        # 1, 2 (reshaped), 3 (its fields beyond the total-fields limit moved to logharbor.overflow,
        # docs/STORAGE.md "Field explosion") and 4 stored; only the non-envelope is dead-lettered
        assert await wait_for_count(os_client, t, 4, within_s=120, task=task) >= 4
        dead = await read_topic(kafka_bootstrap, topics.kafka.dlq_topic, 1)

    os_client.indices.refresh(index=f"logs-{t}-*")
    reshaped = os_client.search(index=f"logs-{t}-standard", body={"query": {"term": {"event.id": f"{t}-2"}}})
    src = reshaped["hits"]["hits"][0]["_source"]
    assert src["_malformed"] == 'client="acme-corp"' and "client" not in src
    assert stored_count(os_client, t, "standard") == 4
    wide = os_client.search(index=f"logs-{t}-standard", body={"query": {"term": {"event.id": f"{t}-3"}}})
    wide_src = wide["hits"]["hits"][0]["_source"]
    assert wide_src["message"] == "far too many fields" and wide_src["logharbor"]["overflow_fields"]

    assert {d["reason_kind"] for d in dead} == {"envelope"}, dead
    assert not os_client.indices.exists(index=f"logs-{t}-dlq")  # nothing of the tenant's was refused


async def test_rules_file_hot_reload_while_running(
    topics: Topics, os_url: str, os_client, kafka_bootstrap: str, tmp_path
) -> None:
    t = topics.tenant
    rules = tmp_path / "rules.yaml"
    rules.write_text("steps:\n  - type: parse\n  - type: route\n")

    def env(i: int, message: str) -> Envelope:
        return Envelope(
            id=f"{t}-{i}",
            tenant=t,
            source="web",
            received_at="2026-01-19T10:30:05Z",
            raw=f"2026-01-19 10:30:00 INFO [Job] {message}",
            format="auto",
        )

    async with pipeline_running(topics, os_url, rules_path=rules, rules_reload_interval_s=0.2) as task:
        await produce(kafka_bootstrap, topics.raw, [env(1, "nightly cleanup done")])
        assert await wait_for_count(os_client, t, 1, within_s=60, task=task) == 1
        # Edit the rules in place: from now on "cleanup" lines are dropped.
        rules.write_text(
            "steps:\n  - type: parse\n  - type: drop_content\n    name: no_cleanup\n"
            "    contains: [cleanup]\n  - type: route\n"
        )
        await asyncio.sleep(1.0)
        await produce(kafka_bootstrap, topics.raw, [env(2, "nightly cleanup done"), env(3, "report sent")])
        assert await wait_for_count(os_client, t, 2, within_s=60, task=task) == 2
        await asyncio.sleep(2.0)  # give a wrongly kept event 2 time to show up
    ids = {
        h["_source"]["event"]["id"]
        for h in os_client.search(index=f"logs-{t}-*", body={"query": {"match_all": {}}})["hits"]["hits"]
    }
    assert ids == {f"{t}-1", f"{t}-3"}
