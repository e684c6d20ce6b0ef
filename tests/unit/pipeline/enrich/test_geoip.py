"""pipeline/enrich/geoip.py against a real .mmdb built here (mmdb-writer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from pipeline_testkit import make_event

from pipeline.enrich.geoip import GeoIPConfig, GeoIPStep
from pipeline.settings import PipelineSettings


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
