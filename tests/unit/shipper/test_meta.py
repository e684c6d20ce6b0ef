"""Shipper host metadata: merge order, detected addresses, splicing into encoded events, the pipeline mapping."""

from __future__ import annotations

import asyncio
import ipaddress

import orjson

from logharbor.envelope import Envelope
from pipeline.enrich.metadata import MetadataConfig, MetadataStep
from pipeline.event import Event as PipelineEvent
from shipper.event import Event, encode_event
from shipper.meta import MetaSink, detect_host_ips, merged_meta, sink_for, splice


def test_source_meta_wins_and_host_ip_is_added_unless_set() -> None:
    assert merged_meta({"datacenter": "fra1", "environment": "prod"}, {"environment": "staging"}, ["10.1.2.3"]) == {
        "datacenter": "fra1", "environment": "staging", "host_ip": "10.1.2.3"}
    assert merged_meta({}, {"host_ip": "192.0.2.7"}, ["10.1.2.3"])["host_ip"] == "192.0.2.7"
    assert merged_meta({}, {}, ["10.0.0.1", "2001:db8::1"])["host_ip"] == ["10.0.0.1", "2001:db8::1"]
    assert merged_meta({}, {}, []) == {}


def test_detected_addresses_are_real_interface_addresses() -> None:
    ips = detect_host_ips()
    for ip in ips:
        addr = ipaddress.ip_address(ip)
        assert not (addr.is_loopback or addr.is_link_local or addr.is_unspecified)
    assert [ipaddress.ip_address(i).version for i in ips] == sorted(ipaddress.ip_address(i).version for i in ips)


def test_splice_keeps_the_event_and_adds_meta() -> None:
    data = encode_event("id-1", "GET /", "nginx", "web-3", {"log.file.path": "/var/log/x"}, "2026-01-19T10:00:00Z")
    meta = {"datacenter": "fra1", "host_ip": "10.1.2.3"}
    obj = orjson.loads(splice(data, orjson.dumps(meta)))
    assert obj == {**orjson.loads(data), "meta": meta}


class Recorder:
    def __init__(self) -> None:
        self.got: list[Event] = []

    async def put(self, events: list[Event]) -> None:
        self.got.extend(events)

    def offer(self, events: list[Event]) -> int:
        self.got.extend(events)
        return 0


def test_meta_sink_for_put_and_offer_and_no_cost_without_meta() -> None:
    inner = Recorder()
    assert sink_for(inner, {}) is inner
    sink = sink_for(inner, {"app_version": "2.4.1"})
    assert isinstance(sink, MetaSink)
    asyncio.run(sink.put([Event(encode_event("a", "x", "auto", "h", {}))]))
    sink.offer([Event(encode_event("b", "y", "auto", "h", {}))])
    assert [orjson.loads(e.data)["meta"] for e in inner.got] == [{"app_version": "2.4.1"}] * 2


def test_the_pipeline_maps_shipper_meta_to_ecs() -> None:
    env = Envelope(id="e", tenant="acme", source="web", received_at="2026-01-19T10:31:00Z", message="m",
                   meta={"host_ip": ["10.1.2.3", "2001:db8::1"], "datacenter": "fra1", "region": "eu-central-1",
                         "environment": "production", "app_version": "2.4.1"})
    doc = MetadataStep(MetadataConfig()).process(PipelineEvent.from_envelope(env)).doc
    assert doc["host.ip"] == ["10.1.2.3", "2001:db8::1"] and doc["host.datacenter"] == "fra1"
    assert doc["cloud.region"] == "eu-central-1" and doc["service.version"] == "2.4.1"
    assert doc["service.environment"] == "production"
