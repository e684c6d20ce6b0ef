"""GeoIP on first run: the bundled GeoLite2-City, real public addresses, ASN databases, the status text."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import maxminddb
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from pipeline_testkit import make_event

from ops.demo import DemoGenerator
from pipeline.enrich import geoip, geoip_db
from pipeline.enrich.geoip import GeoIPConfig, GeoIPStep
from pipeline.settings import PipelineSettings

# Public DNS resolvers and the country their operator documents for them (the address's owner).
RESOLVERS = {
    "8.8.8.8": "US",  # Google Public DNS
    "8.8.4.4": "US",
    "1.1.1.1": "AU",  # 1.1.1.0/24: APNIC's research prefix lent to Cloudflare
    "208.67.222.222": "US",  # OpenDNS (Cisco)
    "64.6.64.6": "US",  # Verisign Public DNS
    "77.88.8.8": "RU",  # Yandex.DNS
    "114.114.114.114": "CN",  # 114DNS
    "223.5.5.5": "CN",  # AliDNS
    "180.76.76.76": "CN",  # Baidu Public DNS
}


@pytest.fixture(scope="module")
def bundled_step() -> GeoIPStep:
    return GeoIPStep(GeoIPConfig(), None)


def test_a_database_is_bundled_and_described() -> None:
    info = geoip_db.describe(None)
    assert info["ok"] and info["source"] == "bundled" and info["database_type"] == "GeoLite2-City"
    assert info["build_date"] == "2018-07-03" and info["package"].startswith("maxminddb-geolite2 ")
    assert "MaxMind" in info["licence"] and "CC BY-SA 4.0" in info["licence"]
    assert "pipeline.geoip_path" in info["advice"] and "geoipupdate" in info["advice"]
    assert info["age_days"] > 365


@pytest.mark.parametrize(("ip", "country"), sorted(RESOLVERS.items()))
def test_public_resolvers_map_to_their_documented_countries(bundled_step: GeoIPStep, ip: str, country: str) -> None:
    doc = bundled_step.process(make_event(None, message="m", fields={"client": {"ip": ip}})).doc
    assert doc["client.geo.country_iso_code"] == country
    loc = doc["client.geo.location"]
    assert -90 <= loc["lat"] <= 90 and -180 <= loc["lon"] <= 180


def test_quad9_is_anycast_but_registered_in_the_us() -> None:
    # 9.9.9.9 answers from many countries (the 2018 file places it in FR); its registration is Quad9's, US.
    with maxminddb.open_database(str(geoip_db.bundled_path())) as reader:
        record = reader.get("9.9.9.9")
    assert record["registered_country"]["iso_code"] == "US"
    assert record["country"]["iso_code"]


def test_demo_client_ips_get_countries_and_cities(bundled_step: GeoIPStep) -> None:
    gen = DemoGenerator(seed=7)
    at = datetime(2026, 1, 19, 10, tzinfo=UTC)
    ips = []
    while len(ips) < 300:
        for ev in gen.request(at):
            ip = (ev.doc.get("client") or {}).get("ip")
            if ip:
                ips.append(ip)
        at += timedelta(seconds=1)
    found = [bundled_step.lookup(ip) for ip in ips]
    with_country = sum("client.geo.country_iso_code" in f for f in found)
    with_city = sum("client.geo.city_name" in f for f in found)
    assert with_country >= 0.95 * len(ips), with_country
    assert with_city >= 0.5 * len(ips), with_city


def test_the_log_names_database_build_date_and_advice(caplog: pytest.LogCaptureFixture) -> None:
    geoip._ANNOUNCED.clear()
    with caplog.at_level(logging.WARNING, logger="pipeline.enrich.geoip"):
        GeoIPConfig().build(PipelineSettings())
    text = caplog.text
    assert "GeoLite2-City built 2018-07-03" in text and "pipeline.geoip_path" in text and "geoipupdate" in text


def test_without_bundle_and_path_the_step_does_nothing() -> None:
    step = GeoIPStep(GeoIPConfig(bundled=False), None)
    doc = step.process(make_event(None, message="m", fields={"client": {"ip": "8.8.8.8"}})).doc
    assert not any(k.startswith("client.geo") for k in doc)


def test_a_broken_configured_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mmdb"
    bad.write_bytes(b"not a database")
    info = geoip_db.describe(bad)
    assert not info["ok"] and str(bad) in info["error"]
    with pytest.raises(ValueError, match=r"bad\.mmdb"):
        GeoIPStep(GeoIPConfig(), bad)


@pytest.fixture(scope="module")
def asn_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("asn") / "asn.mmdb"
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-ASN", ipv4_compatible=True)
    writer.insert_network(IPSet(["8.8.8.0/24"]), {"autonomous_system_number": 15169,
                                                   "autonomous_system_organization": "GOOGLE"})
    writer.to_db_file(str(path))
    return path


def test_asn_from_an_asn_database(asn_db: Path) -> None:
    step = GeoIPConfig().build(PipelineSettings(geoip_asn_path=asn_db))
    doc = step.process(make_event(None, message="m", fields={"client": {"ip": "8.8.8.8"}})).doc
    assert doc["client.as.number"] == 15169 and doc["client.as.organization.name"] == "GOOGLE"
    assert doc["client.geo.country_iso_code"] == "US"  # the City lookup still runs
    other = step.process(make_event(None, message="m", fields={"client": {"ip": "1.1.1.1"}})).doc
    assert "client.as.number" not in other
    info = geoip_db.describe(None, asn_db)
    assert info["asn"]["database_type"] == "GeoLite2-ASN"


def test_asn_from_city_traits() -> None:
    record = {"traits": {"autonomous_system_number": 13335, "autonomous_system_organization": "CLOUDFLARENET"}}
    assert geoip.as_fields(record, "client.as") == {"client.as.number": 13335,
                                                    "client.as.organization.name": "CLOUDFLARENET"}
