"""The shipper against the real LogHarbor gateway and Kafka (contract check, not a stand-in).

A ``logharbor gateway`` subprocess writes to a topic of this test's own; it checks what only
the real gateway can: every kind of event the shipper makes — file lines, a joined stack
trace, syslog with header fields, docker-unwrapped lines — is answered 202 with no per-entry
rejection, and every shipped id is in Kafka, keyed by the key's source.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from gateway.testing import GatewayProcess, create_topic, keys, read_topic
from logharbor.envelope import Envelope
from tests.shipper_support.harness import InProcessShipper, LineWriter, fast_config, file_source

pytestmark = pytest.mark.integration


@pytest.fixture
def real_gateway(os_url: str, kafka_bootstrap: str, unique_tenant: str):
    topic = create_topic(kafka_bootstrap)
    key, _ = keys(os_url, "create", tenant=unique_tenant, source="shipper-contract", scopes=["ingest"])
    with GatewayProcess(env={"LOGHARBOR_KAFKA_RAW_TOPIC": topic}) as gw:
        gw.wait_ready()
        yield gw.url, key, topic


def test_every_event_kind_is_accepted_by_the_real_gateway(tmp_path: Path, real_gateway, kafka_bootstrap: str,
                                                         unique_tenant: str) -> None:
    URL, KEY, topic = real_gateway
    logs = tmp_path / "logs"
    logs.mkdir()
    w = LineWriter()
    w.write(logs / "app.log", 200)
    with open(logs / "app.log", "a") as f:
        f.write("2026-01-01 ERROR failed\njava.lang.IllegalStateException: x\n\tat a.b.C.d(C.java:1)\n")
    cid = "c" * 64
    (tmp_path / "containers" / cid).mkdir(parents=True)
    (tmp_path / "containers" / cid / f"{cid}-json.log").write_text(
        json.dumps({"log": "from a container\n", "stream": "stdout", "time": "2026-01-01T00:00:00Z"}) + "\n")
    sources = [
        file_source(str(logs / "*.log"), multiline={"flush_timeout_s": 0.1}),
        {"type": "docker", "name": "docker", "paths": [str(tmp_path / "containers" / "*" / "*-json.log")]},
        {"type": "syslog", "name": "sys", "udp": "127.0.0.1:0", "tcp": None},
    ]
    cfg = fast_config(tmp_path / "data", URL, sources)
    cfg["gateway"]["api_key"] = KEY
    sh = InProcessShipper(cfg).start()
    try:
        deadline = time.monotonic() + 5
        while sh.source("sys").udp_bound is None and time.monotonic() < deadline:
            time.sleep(0.05)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.sendto(b"<34>1 2026-01-01T00:00:00Z host app 1 ID - hello syslog", sh.source("sys").udp_bound)
        expected = 200 + 1 + 1 + 1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sh.metric("events_sent_total") < expected:
            time.sleep(0.1)
        assert sh.metric("events_sent_total") == expected, sh.shipper.status() if sh.shipper else None
        assert sh.metric("events_rejected_total") == 0
        assert sh.metric("events_spooled_total") == 0
        assert not (tmp_path / "data" / "rejected").exists()
    finally:
        sh.stop()
    envelopes = [Envelope.from_bytes(r.value) for r in read_topic(kafka_bootstrap, topic)]
    assert len({e.id for e in envelopes}) == expected
    assert {(e.tenant, e.source) for e in envelopes} == {(unique_tenant, "shipper-contract")}
    assert any(e.raw and "IllegalStateException" in e.raw and "\tat a.b.C.d" in e.raw for e in envelopes)
