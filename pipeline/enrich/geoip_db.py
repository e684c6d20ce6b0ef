"""Which GeoIP database the ``geoip`` step reads, and what to tell the operator about it.

Why a bundled database at all: a fresh install should show countries and cities on its first
events, not "geoip step has no database". The only redistributable City database on PyPI whose
package installs beside this project's ``maxminddb`` is ``maxminddb-geolite2`` (MaxMind
GeoLite2-City built 2018-07-03, published under CC BY-SA 4.0 as GeoLite2 was until
2019-12-30; DB-IP's newer City Lite package pins ``maxminddb==1.5.4`` and so cannot be a
dependency). It is old: addresses reassigned since 2018 get old answers. So the pipeline's log
and ``GET /api/v1/status`` say which database and build date are in use and ask the operator to
set ``pipeline.geoip_path`` to a current GeoLite2-City or DB-IP City Lite file kept fresh by
``geoipupdate`` (MaxMind) or DB-IP's monthly download. A configured path always wins.

The ui imports :func:`describe` (no processing code) so the status page reports what the
pipeline reads from the same configuration.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import maxminddb

BUNDLED_PACKAGE = "maxminddb-geolite2"
BUNDLED_MODULE = "_maxminddb_geolite2"
BUNDLED_FILE = "GeoLite2-City.mmdb"
BUNDLED_LICENCE = (
    "CC BY-SA 4.0 — this product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com"
)
ADVICE = (
    "point pipeline.geoip_path (LOGHARBOR_PIPELINE_GEOIP_PATH) at a current GeoLite2-City or DB-IP City Lite "
    ".mmdb file, kept up to date with geoipupdate (MaxMind) or DB-IP's monthly download; "
    "pipeline.geoip_asn_path adds a GeoLite2-ASN / DB-IP ASN Lite file"
)


@dataclass(frozen=True)
class GeoDatabase:
    """One resolved database file and what the status page shows about it."""

    path: str
    source: str  # "configured" | "bundled"
    database_type: str
    build_date: str  # YYYY-MM-DD (UTC) from the file's own metadata
    age_days: int
    package: str | None = None
    licence: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def bundled_path() -> Path | None:
    """The GeoLite2-City file shipped by ``maxminddb-geolite2``, when that package is installed."""
    spec = importlib.util.find_spec(BUNDLED_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE
    return path if path.is_file() else None


def _bundled_version() -> str | None:
    try:
        return importlib.metadata.version(BUNDLED_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def inspect(path: Path, source: str) -> GeoDatabase:
    """Open ``path`` once to read its type and build date (errors name the file)."""
    try:
        with maxminddb.open_database(str(path)) as reader:
            meta = reader.metadata()
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise ValueError(f"GeoIP database {path}: {exc}") from exc
    bundled = source == "bundled"
    return GeoDatabase(
        path=str(path),
        source=source,
        database_type=meta.database_type,
        build_date=time.strftime("%Y-%m-%d", time.gmtime(meta.build_epoch)),
        age_days=int((time.time() - meta.build_epoch) // 86400),
        package=f"{BUNDLED_PACKAGE} {_bundled_version()}" if bundled else None,
        licence=BUNDLED_LICENCE if bundled else None,
    )


def resolve(configured: Path | None) -> GeoDatabase | None:
    """The configured file, else the bundled one, else None (the step then does nothing)."""
    if configured is not None:
        return inspect(configured, "configured")
    path = bundled_path()
    return inspect(path, "bundled") if path is not None else None


def describe(configured: Path | None, asn: Path | None = None) -> dict[str, Any]:
    """What ``/api/v1/status`` shows under ``enrichment.geoip`` (never raises)."""
    try:
        db = resolve(configured)
    except ValueError as exc:
        return {"ok": False, "error": str(exc), "advice": ADVICE}
    if db is None:
        return {"ok": False, "error": f"no database: {BUNDLED_PACKAGE} is not installed and "
                "pipeline.geoip_path is not set", "advice": ADVICE}
    out: dict[str, Any] = {"ok": True, **db.as_dict()}
    if asn is not None:
        try:
            out["asn"] = inspect(asn, "configured").as_dict()
        except ValueError as exc:
            out["asn"] = {"ok": False, "error": str(exc)}
    if db.source == "bundled" or db.age_days > 45:
        out["advice"] = f"{db.database_type} built {db.build_date} ({db.age_days} days old): {ADVICE}"
    return out
