"""Enrichers: metadata, GeoIP (a real .mmdb built here), user agents, correlation, derived, lookup."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from pipeline_testkit import make_event
from prometheus_client import REGISTRY

from pipeline.enrich.correlation import CorrelationConfig, CorrelationStep
from pipeline.enrich.derived import DerivedConfig, DerivedStep, duration_ms
from pipeline.enrich.geoip import GeoIPConfig, GeoIPStep
from pipeline.enrich.lookup import LookupConfig, LookupStep
from pipeline.enrich.metadata import MetadataConfig, MetadataStep
from pipeline.enrich.user_agent import parse_user_agent
from pipeline.settings import PipelineSettings
from pipeline.step import Chain, Step
from pipeline.timeparse import zone


def test_metadata_from_envelope_meta() -> None:
    ev = make_event(
        None,
        message="m",
        host=None,
        key_id="k-1",
        meta={
            "host": "web-3",
            "environment": "production",
            "datacenter": "fra1",
            "app_version": "2.4.1",
            "labels": {"team": "core"},
            "path": "/var/log/app.log",
            "unknown": "x",
        },
    )
    doc = MetadataStep(MetadataConfig(static={"labels.cluster": "eu"})).process(ev).doc
    assert doc["host.name"] == "web-3"
    assert doc["labels.environment"] == "production" and doc["service.environment"] == "production"
    assert doc["host.datacenter"] == "fra1" and doc["service.version"] == "2.4.1"
    assert doc["labels.team"] == "core" and doc["labels.cluster"] == "eu" and doc["labels.key_id"] == "k-1"
    assert doc["log.file.path"] == "/var/log/app.log"
    assert "unknown" not in doc


def test_metadata_never_overrides_the_event() -> None:
    ev = make_event(None, message="m", host="from-event", meta={"host": "from-meta"})
    assert MetadataStep(MetadataConfig()).process(ev).doc["host.name"] == "from-event"


@pytest.fixture(scope="module")
def geo_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("geo") / "city.mmdb"
    writer = MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    writer.insert_network(
        IPSet(["81.2.69.0/24"]),
        {
            "city": {"names": {"en": "London"}},
            "continent": {"code": "EU", "names": {"en": "Europe"}},
            "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
            "location": {"latitude": 51.5142, "longitude": -0.0931},
            "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
        },
    )
    writer.insert_network(
        IPSet(["2001:db8::/32"]),
        {
            "country": {"iso_code": "DE", "names": {"en": "Germany"}},
            "location": {"latitude": 52.52, "longitude": 13.405},
        },
    )
    writer.to_db_file(str(path))
    return path


def test_geoip_city(geo_db: Path) -> None:
    step = GeoIPStep(GeoIPConfig(), geo_db)
    ev = make_event(None, message="m")
    ev.doc["client.ip"] = "81.2.69.160"
    doc = step.process(ev).doc
    assert doc["client.geo.location"] == {"lat": pytest.approx(51.5142), "lon": pytest.approx(-0.0931)}
    assert doc["client.geo.country_iso_code"] == "GB" and doc["client.geo.city_name"] == "London"
    assert doc["client.geo.region_name"] == "England" and doc["client.geo.continent_name"] == "Europe"
    v6 = make_event(None, message="m")
    v6.doc["client.ip"] = "2001:db8::7"
    assert step.process(v6).doc["client.geo.country_iso_code"] == "DE"


@pytest.mark.parametrize("ip", ["10.0.0.1", "not-an-ip", "", "999.1.1.1"])
def test_geoip_unknown_or_bad_ip_adds_nothing(geo_db: Path, ip: str) -> None:
    ev = make_event(None, message="m")
    ev.doc["client.ip"] = ip
    doc = GeoIPStep(GeoIPConfig(), geo_db).process(ev).doc
    assert not any(k.startswith("client.geo") for k in doc)


def test_geoip_path_comes_from_settings(geo_db: Path) -> None:
    step = GeoIPConfig().build(PipelineSettings(geoip_path=geo_db))
    ev = make_event(None, message="m")
    ev.doc["client.ip"] = "81.2.69.1"
    assert step.process(ev).doc["client.geo.city_name"] == "London"


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.6099.109 Safari/537.36",
            {
                "name": "Chrome",
                "version": "120.0.6099.109",
                "os.name": "Windows",
                "os.version": "10",
                "device.name": "Other",
            },
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.2 Mobile/15E148 Safari/604.1",
            {
                "name": "Mobile Safari",
                "version": "17.2",
                "os.name": "iOS",
                "os.version": "17.2",
                "device.name": "iPhone",
            },
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
            {
                "name": "Firefox",
                "version": "121.0",
                "os.name": "Mac OS X",
                "os.version": "10.15",
                "device.name": "Mac",
            },
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36",
            {
                "name": "Chrome Mobile",
                "version": "120.0.0.0",
                "os.name": "Android",
                "os.version": "14",
                "device.name": "Pixel 8",
            },
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
            "Safari/537.36 Edg/120.0.2210.91",
            {
                "name": "Edge",
                "version": "120.0.2210.91",
                "os.name": "Windows",
                "os.version": "10",
                "device.name": "Other",
            },
        ),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            {"name": "Googlebot", "version": "2.1", "device.name": "Spider"},
        ),
        ("curl/8.5.0", {"name": "curl", "version": "8.5.0", "device.name": "Other"}),
        ("Mozilla/5.0", {"name": "Other", "device.name": "Other"}),
    ],
)
def test_user_agent(ua: str, expected: dict[str, str]) -> None:
    got = dict(parse_user_agent(ua))  # uap-core answers (the corpus test: test_user_agent_corpus.py)
    if "os.name" in expected:
        assert got.pop("os.full") == f"{expected['os.name']} {expected['os.version']}"
    assert got == expected


def test_correlation_moves_aliases_and_reads_traceparent_and_message() -> None:
    step = CorrelationStep(CorrelationConfig())
    ev = make_event(
        None,
        message="processing request_id=req-77 for user_id: u42",
        fields={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "sessionId": "s-9"},
    )
    doc = step.process(ev).doc
    assert doc["trace.id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and doc["span.id"] == "00f067aa0ba902b7"
    assert doc["session.id"] == "s-9" and "sessionId" not in doc
    assert doc["http.request.id"] == "req-77" and doc["user.id"] == "u42"
    ev2 = make_event(None, message="m", fields={"trace_id": "abc", "userId": 7})
    doc2 = step.process(ev2).doc
    assert doc2["trace.id"] == "abc" and doc2["user.id"] == "7" and "trace_id" not in doc2


def test_duration_parsing() -> None:
    assert duration_ms("duration_ms", 250) == 250
    assert duration_ms("duration", "1.5s") == 1500
    assert duration_ms("request_time", "0.25") == 250
    assert duration_ms("took", "soon") is None


def _derived(**cfg) -> DerivedStep:
    config = DerivedConfig(**cfg)
    return DerivedStep(config, zone(config.timezone or "UTC"))


def test_derived_fields() -> None:
    ev = make_event(None, message="m", level="error", fields={"duration_ms": 1800})
    ev.ts = datetime(2026, 1, 19, 10, 30, tzinfo=UTC)  # Monday
    doc = _derived(slow_threshold_ms=1000).process(ev).doc
    assert doc["event.duration_ms"] == 1800 and doc["event.duration"] == 1_800_000_000
    assert doc["event.duration_category"] == "slow"
    assert doc["event.is_error"] is True
    assert doc["event.hour_of_day"] == 10 and doc["event.day_of_week"] == 1
    assert doc["event.business_hours"] is True


def test_derived_in_a_zone_and_status_errors() -> None:
    ev = make_event(None, message="m", level="info", fields={"response_time": 20})
    ev.doc["http.response.status_code"] = 502
    ev.ts = datetime(2026, 1, 18, 23, 30, tzinfo=UTC)  # Sunday 23:30 UTC = Monday 08:30 Tokyo
    doc = _derived(timezone="Asia/Tokyo").process(ev).doc
    assert doc["event.duration_category"] == "normal" and doc["event.is_error"] is True
    assert doc["event.hour_of_day"] == 8 and doc["event.day_of_week"] == 1
    assert doc["event.business_hours"] is False  # 08:30 is before 09:00


def test_lookup_csv_and_reload(tmp_path: Path) -> None:
    table = tmp_path / "services.csv"
    table.write_text("service,team,tier\nweb,frontend,1\napi,backend,0\n")
    step = LookupStep(LookupConfig(path=table, key_field="service.name", prefix="labels.", reload_interval_s=0.0))
    doc = step.process(make_event(None, message="m", source="api")).doc
    assert doc["labels.team"] == "backend" and doc["labels.tier"] == "0"
    assert "labels.team" not in step.process(make_event(None, message="m", source="batch")).doc
    table.write_text("service,team,tier\napi,platform,2\n")
    os.utime(table, (time.time() + 5, time.time() + 5))
    assert step.process(make_event(None, message="m", source="api")).doc["labels.team"] == "platform"


def test_lookup_json(tmp_path: Path) -> None:
    table = tmp_path / "t.json"
    table.write_text(json.dumps([{"code": "E42", "meaning": "disk full"}]))
    step = LookupStep(LookupConfig(path=table, key_field="error.code", key_column="code"))
    ev = make_event(None, message="m")
    ev.doc["error.code"] = "E42"
    assert step.process(ev).doc["meaning"] == "disk full"


class Exploding(Step):
    name = "exploding"
    fail_open = True

    def process(self, event):
        raise RuntimeError("lookup service down")


def test_failing_enricher_never_blocks_the_event() -> None:
    before = REGISTRY.get_sample_value("logharbor_pipeline_enrich_failures_total", {"step": "exploding"}) or 0
    result = Chain([Exploding()]).run([make_event(None, message="m")])
    assert len(result.kept) == 1 and not result.failed
    assert "enrich_failure" in result.kept[0].tags
    assert REGISTRY.get_sample_value("logharbor_pipeline_enrich_failures_total", {"step": "exploding"}) == before + 1
