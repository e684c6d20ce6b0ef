"""Operating the gateway: workers on one port, Kafka unreachable → 503 and recovery without restart."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.request
from datetime import UTC, datetime

import orjson
import psutil
import pytest
import requests
from gateway_support import post as post_batch

from gateway.testing import GatewayProcess, create_topic, free_port, keys

pytestmark = pytest.mark.integration


def post(gw: GatewayProcess, key: str, n: int = 5) -> requests.Response:
    ts = datetime.now(UTC).isoformat()
    return post_batch(gw, [{"timestamp": ts, "message": "m"}] * n, key)


def test_two_workers_share_one_port_and_stop_cleanly(servers, os_url, kafka_bootstrap, unique_tenant):
    token, _ = keys(os_url, "create", tenant=unique_tenant, source="web", scopes=["ingest"])
    gw = GatewayProcess(env={"LOGHARBOR_KAFKA_RAW_TOPIC": create_topic(kafka_bootstrap)}, workers=2).start()
    try:
        gw.wait_ready()
        children = psutil.Process(gw.proc.pid).children()  # the workers (+ multiprocessing's tracker)
        pids = set()
        deadline = time.monotonic() + 20
        while len(pids) < 2 and time.monotonic() < deadline:
            with urllib.request.urlopen(gw.url + "/health", timeout=5) as r:  # new connection each time
                pids.add(orjson.loads(r.read())["pid"])
        assert len(pids) == 2 and pids <= {c.pid for c in children}
        statuses = {post(gw, token).status_code for _ in range(20)}
        assert statuses == {202}
        # a worker that dies (OOM killer, crash) is replaced by the parent
        victim = next(iter(pids))
        psutil.Process(victim).kill()
        deadline = time.monotonic() + 30
        fresh: set[int] = set()
        while time.monotonic() < deadline and not fresh:
            with contextlib.suppress(OSError), urllib.request.urlopen(gw.url + "/health", timeout=5) as r:
                pid = orjson.loads(r.read())["pid"]
                if pid not in pids:
                    fresh.add(pid)
            time.sleep(0.05)
        assert fresh, gw.output()[-2000:]
        assert post(gw, token).status_code == 202
        children = psutil.Process(gw.proc.pid).children()
    finally:
        code = gw.stop()
    assert code == 0, gw.output()[-2000:]
    # workers are gone when the parent exits; multiprocessing's tracker follows within moments
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not [c for c in alive if c.status() != psutil.STATUS_ZOMBIE]


class Forwarder:
    """A TCP forwarder we can switch on and off, standing in for a Kafka bootstrap address.

    Kafka clients bootstrap through it and then talk to the advertised broker address
    directly, so switching it on is "Kafka became reachable" for a gateway that started
    while it was off.
    """

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.port = free_port()
        self._srv: socket.socket | None = None

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := a.recv(65536):
                b.sendall(data)
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        assert self._srv is not None
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._srv.accept()
                upstream = socket.create_connection(self.target)
                threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
                threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def on(self) -> None:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(16)
        self._srv = srv
        threading.Thread(target=self._accept, daemon=True).start()

    def off(self) -> None:
        if self._srv is not None:
            self._srv.close()
            self._srv = None


def test_kafka_unreachable_is_503_never_202_and_recovers_without_restart(
    servers, os_url, kafka_bootstrap, unique_tenant
):
    token, _ = keys(os_url, "create", tenant=unique_tenant, source="web", scopes=["ingest"])
    fwd = Forwarder(kafka_bootstrap)  # off: nothing listens on its port yet
    env = {
        "LOGHARBOR_KAFKA_RAW_TOPIC": create_topic(kafka_bootstrap),
        "LOGHARBOR_KAFKA_BOOTSTRAP": f"127.0.0.1:{fwd.port}",
    }
    with GatewayProcess(env=env) as gw:
        r = post(gw, token)
        assert r.status_code == 503, r.text
        assert "Kafka is unavailable" in r.json()["error"] and int(r.headers["Retry-After"]) >= 1
        ready = requests.get(gw.url + "/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["kafka"].startswith("unreachable")
        assert requests.get(gw.url + "/health", timeout=5).status_code == 200
        fwd.on()
        try:
            deadline = time.monotonic() + 30
            while (r := post(gw, token)).status_code == 503 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert r.status_code == 202, r.text
        finally:
            fwd.off()


async def _commit(bootstrap: str, group: str, topic: str, to_end: bool) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.structs import OffsetAndMetadata

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, 0)]  # the test topic has one partition
        consumer.assign(tps)
        end = await consumer.end_offsets(tps)
        await consumer.commit({tp: OffsetAndMetadata(end[tp] if to_end else 0, "") for tp in tps})
    finally:
        await consumer.stop()


def test_backpressure_503_when_pipeline_lag_exceeds_the_bound(servers, os_url, kafka_bootstrap, unique_tenant):
    from gateway.testing import run_async

    token, _ = keys(os_url, "create", tenant=unique_tenant, source="web", scopes=["ingest"])
    topic = create_topic(kafka_bootstrap, partitions=1)
    group = "lh-test-lag-" + unique_tenant
    run_async(_commit(kafka_bootstrap, group, topic, to_end=False))  # a pipeline that has read nothing
    env = {
        "LOGHARBOR_KAFKA_RAW_TOPIC": topic,
        "LOGHARBOR_KAFKA_CONSUMER_GROUP": group,
        "LOGHARBOR_GATEWAY_MAX_CONSUMER_LAG": "50",
        "LOGHARBOR_GATEWAY_LAG_CHECK_S": "0.3",
    }
    with GatewayProcess(env=env) as gw:
        gw.wait_ready()
        assert post(gw, token, n=60).status_code == 202  # lag becomes 60 > 50
        deadline = time.monotonic() + 15
        while (r := post(gw, token, n=1)).status_code == 202 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert r.status_code == 503 and "pipeline is behind" in r.json()["error"], r.text
        assert int(r.headers["Retry-After"]) >= 1
        run_async(_commit(kafka_bootstrap, group, topic, to_end=True))  # the pipeline caught up
        deadline = time.monotonic() + 15
        while (r := post(gw, token, n=1)).status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert r.status_code == 202
        metrics = requests.get(gw.url + "/metrics", timeout=5).text
        assert 'logharbor_gateway_rate_limited_total{limit="backpressure"}' in metrics


def test_sigterm_finishes_the_request_in_flight_then_exits_zero(servers, os_url, kafka_bootstrap, unique_tenant):
    token, _ = keys(os_url, "create", tenant=unique_tenant, source="web", scopes=["ingest"])
    gw = GatewayProcess(env={"LOGHARBOR_KAFKA_RAW_TOPIC": create_topic(kafka_bootstrap)}).start()
    try:
        gw.wait_ready()
        body = orjson.dumps([{"timestamp": datetime.now(UTC).isoformat(), "message": f"m{i}"} for i in range(50)])
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=20)
        s.sendall(
            b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(0.5)
        gw.proc.send_signal(15)  # SIGTERM while the body is half sent
        time.sleep(1.0)
        with pytest.raises(OSError):  # no longer accepting new connections
            socket.create_connection(("127.0.0.1", gw.port), timeout=2).close()
        s.sendall(body[10:])
        answer = s.recv(4096)
        s.close()
        assert answer.startswith(b"HTTP/1.1 202"), answer
        assert b'"accepted":50' in answer
        assert gw.proc.wait(30) == 0, gw.output()[-2000:]
    finally:
        gw.kill()


async def test_start_gateway_embeds_in_a_running_loop(servers, os_url, kafka_bootstrap, unique_tenant):
    """What ``logharbor run`` does: the gateway in someone else's event loop, port 0, clean stop."""
    import aiohttp

    from gateway.server import start_gateway
    from gateway.settings import GatewaySettings
    from gateway.testing import _key_op
    from logharbor.config import KafkaSettings, OpenSearchSettings
    from logharbor.topics import ensure_topics

    topic = "lh-test-gw-embed-" + unique_tenant
    await ensure_topics(kafka_bootstrap, {topic: 1})
    token, _ = await _key_op(os_url, "create", tenant=unique_tenant, source="web", scopes=["ingest"])
    handle = await start_gateway(
        GatewaySettings(port=0),
        kafka=KafkaSettings(bootstrap=kafka_bootstrap, raw_topic=topic),
        opensearch=OpenSearchSettings(url=os_url),
    )
    try:
        assert handle.port > 0
        body = orjson.dumps([{"timestamp": datetime.now(UTC).isoformat(), "message": "embedded"}])
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"http://127.0.0.1:{handle.port}/ingest",
                data=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            ) as r:
                assert r.status == 202, await r.text()
                assert (await r.json())["accepted"] == 1
    finally:
        await handle.stop()


def test_opensearch_unreachable_is_503_for_unknown_keys_not_401(servers, kafka_bootstrap):
    env = {
        "LOGHARBOR_KAFKA_RAW_TOPIC": create_topic(kafka_bootstrap),
        "LOGHARBOR_OPENSEARCH_URL": f"http://127.0.0.1:{free_port()}",
    }  # nothing listens there
    with GatewayProcess(env=env) as gw:
        r = post(gw, "lh_live_abcdefgh2345_" + "s" * 43)
        assert r.status_code == 503 and "key store is unreachable" in r.json()["error"]
        assert int(r.headers["Retry-After"]) >= 1
        ready = requests.get(gw.url + "/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["opensearch"].startswith("unreachable")


def test_missing_raw_topic_is_created_with_the_configured_partitions(servers, os_url, kafka_bootstrap, unique_tenant):
    from gateway.testing import read_topic, unique_topic

    token, _ = keys(os_url, "create", tenant=unique_tenant, source="web", scopes=["ingest"])
    topic = unique_topic("lh-test-gw-new")  # does not exist; the devstack broker has auto-create off
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": topic, "LOGHARBOR_KAFKA_RAW_PARTITIONS": "2"}
    with GatewayProcess(env=env) as gw:
        gw.wait_ready()
        assert post(gw, token, n=3).status_code == 202
    records = read_topic(kafka_bootstrap, topic)
    assert len(records) == 3

    async def partitions() -> int:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([topic])
            return len(described["partitions"])
        finally:
            await admin.close()

    from gateway.testing import run_async

    assert run_async(partitions()) == 2
