"""``geoip``: client.ip → client.geo.* (and client.as.*) from MaxMind-format databases.

The City database is the ``geoip_path`` setting (or ``path`` here); without one the step reads
the GeoLite2-City file a dependency bundles and says so in the log (see
:mod:`pipeline.enrich.geoip_db` for why, and what the operator should do). ASNs come from an
ASN database (``geoip_asn_path`` / ``asn_path``: GeoLite2-ASN, DB-IP ASN Lite) or from City
records that carry them (GeoIP2 Enterprise/ISP ``traits``). Lookups are cached per IP because
the same clients recur; private and malformed addresses simply yield nothing.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import maxminddb

from logharbor import ecs
from pipeline.enrich import geoip_db
from pipeline.event import Event
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig

log = logging.getLogger(__name__)


class GeoIPConfig(StepConfig):
    type: Literal["geoip"] = "geoip"
    path: Path | None = None
    asn_path: Path | None = None
    source_field: str = ecs.CLIENT_IP
    target: str = "client.geo"
    as_target: str = "client.as"
    bundled: bool = True  # without a configured path, use the bundled GeoLite2-City file
    cache_size: int = 65536

    def build(self, settings: PipelineSettings) -> Step:
        return GeoIPStep(self, self.path or settings.geoip_path, self.asn_path or settings.geoip_asn_path)


_ANNOUNCED: set[tuple[str, str]] = set()


def _announce(db: geoip_db.GeoDatabase) -> None:
    """Log the database in use once per process (steps are rebuilt on every rules reload)."""
    key = (db.path, db.build_date)
    if key in _ANNOUNCED:
        return
    _ANNOUNCED.add(key)
    if db.source == "bundled":
        log.warning("geoip: using the bundled %s built %s (%s, %s, %d days old); %s", db.database_type,
                    db.build_date, db.package, db.licence, db.age_days, geoip_db.ADVICE)
    else:
        log.info("geoip: using %s (%s built %s)", db.path, db.database_type, db.build_date)


def as_fields(record: dict[str, Any], target: str) -> dict[str, Any]:
    """ECS ``*.as.number`` / ``*.as.organization.name`` from an ASN record or City ``traits``."""
    src = record.get("traits") if "traits" in record else record
    out: dict[str, Any] = {}
    if isinstance(src, dict):
        if isinstance(number := src.get("autonomous_system_number"), int):
            out[f"{target}.number"] = number
        if org := src.get("autonomous_system_organization"):
            out[f"{target}.organization.name"] = org
    return out


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

    def __init__(self, config: GeoIPConfig, path: Path | None, asn_path: Path | None = None) -> None:
        self.name = config.rule_name
        self.source_field = config.source_field
        self.target = config.target
        self.as_target = config.as_target
        self.reader: maxminddb.Reader | None = None
        self.asn_reader: maxminddb.Reader | None = None
        self.database: geoip_db.GeoDatabase | None = None
        if path is not None or config.bundled:
            self.database = geoip_db.resolve(path)
        if self.database is None:
            log.warning("geoip step has no database (set pipeline.geoip_path); it does nothing")
        else:
            _announce(self.database)
            self.reader = maxminddb.open_database(self.database.path)
        if asn_path is not None:
            self.asn_reader = maxminddb.open_database(str(asn_path))
        self.lookup = lru_cache(maxsize=config.cache_size)(self._lookup)

    def _lookup(self, ip: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        try:
            if self.reader is not None:
                record = self.reader.get(ip)
                if isinstance(record, dict):
                    out.update(geo_fields(record, self.target))
                    out.update(as_fields(record, self.as_target))
            if self.asn_reader is not None:
                record = self.asn_reader.get(ip)
                if isinstance(record, dict):
                    out.update(as_fields(record, self.as_target))
        except ValueError:  # not an IP address
            return {}
        return out

    def process(self, event: Event) -> Event:
        if self.reader is None and self.asn_reader is None:
            return event
        ip = event.doc.get(self.source_field)
        if isinstance(ip, str) and ip:
            found = self.lookup(ip)
            if found:
                event.doc.update(found)
        return event
