"""``geoip``: client.ip → client.geo.* from a MaxMind-format database (GeoLite2/GeoIP2 City).

The database path is the ``geoip_path`` setting (or ``path`` here). Lookups are cached per IP
because the same clients recur; private and malformed addresses simply yield nothing.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import maxminddb

from logharbor import ecs
from pipeline.event import Event
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig, register

log = logging.getLogger(__name__)


@register
class GeoIPConfig(StepConfig):
    type: Literal["geoip"] = "geoip"
    path: Path | None = None
    source_field: str = ecs.CLIENT_IP
    target: str = "client.geo"
    cache_size: int = 65536

    def build(self, settings: PipelineSettings) -> Step:
        return GeoIPStep(self, self.path or settings.geoip_path)


def geo_fields(record: dict[str, Any], target: str) -> dict[str, Any]:
    """ECS geo fields from one MaxMind City/Country record."""
    out: dict[str, Any] = {}
    loc = record.get("location") or {}
    if "latitude" in loc and "longitude" in loc:
        out[f"{target}.location"] = {"lat": loc["latitude"], "lon": loc["longitude"]}
    country = record.get("country") or record.get("registered_country") or {}
    if "iso_code" in country:
        out[f"{target}.country_iso_code"] = country["iso_code"]
    if name := (country.get("names") or {}).get("en"):
        out[f"{target}.country_name"] = name
    if name := ((record.get("city") or {}).get("names") or {}).get("en"):
        out[f"{target}.city_name"] = name
    if name := ((record.get("continent") or {}).get("names") or {}).get("en"):
        out[f"{target}.continent_name"] = name
    subdivisions = record.get("subdivisions") or []
    if subdivisions:
        sub = subdivisions[0]
        if "iso_code" in sub:
            out[f"{target}.region_iso_code"] = f"{country.get('iso_code', '')}-{sub['iso_code']}"
        if name := (sub.get("names") or {}).get("en"):
            out[f"{target}.region_name"] = name
    return out


class GeoIPStep(Step):
    fail_open = True

    def __init__(self, config: GeoIPConfig, path: Path | None) -> None:
        self.name = config.rule_name
        self.source_field = config.source_field
        self.target = config.target
        self.reader: maxminddb.Reader | None = None
        if path is None:
            log.info("geoip step has no database (set pipeline.geoip_path); it does nothing")
        else:
            self.reader = maxminddb.open_database(str(path))
        self.lookup = lru_cache(maxsize=config.cache_size)(self._lookup)

    def _lookup(self, ip: str) -> dict[str, Any]:
        assert self.reader is not None
        try:
            record = self.reader.get(ip)
        except ValueError:  # not an IP address
            return {}
        return geo_fields(record, self.target) if isinstance(record, dict) else {}

    def process(self, event: Event) -> Event:
        if self.reader is None:
            return event
        ip = event.doc.get(self.source_field)
        if isinstance(ip, str) and ip:
            found = self.lookup(ip)
            if found:
                event.doc.update(found)
        return event
