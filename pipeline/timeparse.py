"""Timestamp parsing for log lines: fast paths first, one slow fallback.

Every parser hands its raw timestamp here so "timestamps without a zone use the source's
configured zone" is decided in one place. Results are aware datetimes in UTC; the document
carries them as ISO 8601 with milliseconds and ``Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTHS: dict[str, int] = {
    m: i + 1 for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"))
}


@lru_cache(maxsize=256)
def zone(name: str | None) -> tzinfo:
    """The tzinfo for an IANA name ("UTC" if None); unknown names raise ValueError with the name."""
    if not name or name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone '{name}' (use an IANA name such as Europe/Berlin)") from exc


def _offset(text: str) -> tzinfo | None:
    """``+0100`` / ``-05:30`` / ``Z`` → fixed offset."""
    if text in ("Z", "z", "+0000", "+00:00", "-0000"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    if len(digits) != 4 or not digits.isdigit():
        return None
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


@lru_cache(maxsize=4096)
def parse_clf(text: str) -> datetime | None:
    """Common Log Format time ``19/Jan/2026:10:30:00 +0000`` (strptime is ~10x slower)."""
    try:
        day, mon, rest = text.split("/", 2)
        year, hh, mm, ss_tz = rest.split(":", 3)
        ss, _, tz = ss_tz.partition(" ")
        tzi = _offset(tz) if tz else None
        return datetime(int(year), MONTHS[mon], int(day), int(hh), int(mm), int(ss), tzinfo=tzi)
    except (ValueError, KeyError):
        return None


def parse_bsd(text: str, tz: tzinfo, now: datetime | None = None) -> datetime | None:
    """RFC 3164 time ``Jan 19 10:30:00`` (no year: the most recent such moment, not in the future)."""
    try:
        mon, day, clock = text.split()
        hh, mm, ss = clock.split(":")
        now = now or datetime.now(tz)
        year = now.year
        dt = datetime(year, MONTHS[mon], int(day), int(hh), int(mm), int(float(ss)), tzinfo=tz)
        if dt - now.astimezone(tz) > timedelta(days=1):  # December line read in January
            dt = dt.replace(year=year - 1)
        return dt
    except (ValueError, KeyError):
        return None


def _epoch(value: float) -> datetime:
    # Guess the unit by magnitude: s, ms, µs, ns since 1970.
    if value > 1e17:
        value /= 1e9
    elif value > 1e14:
        value /= 1e6
    elif value > 1e11:
        value /= 1e3
    return datetime.fromtimestamp(value, UTC)


def parse_timestamp(value: object, tz: tzinfo = UTC) -> datetime | None:
    """An aware UTC datetime for ``value`` (ISO string, CLF, BSD, epoch number) or None."""
    try:
        if isinstance(value, datetime):
            dt = value
        elif isinstance(value, bool):
            return None
        elif isinstance(value, int | float):
            return _epoch(float(value))
        elif isinstance(value, str):
            text = value.strip()
            if not text:
                return None
            if text.replace(".", "", 1).isdigit():
                return _epoch(float(text))
            if text[0].isalpha():  # "Jan 19 10:30:00" (BSD syslog): skip the ISO attempt
                dt = parse_bsd(text, tz) or _fallback(text)
            else:
                try:
                    dt = datetime.fromisoformat(text)
                except ValueError:
                    dt = parse_clf(text) or _fallback(text)
            if dt is None:
                return None
        else:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=tz)
        return dt.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _fallback(text: str) -> datetime | None:
    # dateutil is slow but only reached by unusual formats; bounded input keeps it cheap.
    from dateutil import parser as du

    if len(text) > 64:
        return None
    try:
        return du.parse(text)
    except (ValueError, OverflowError):
        return None


def format_timestamp(dt: datetime) -> str:
    """``2026-01-19T10:30:00.000Z`` — the one wire format for @timestamp."""
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
        f".{dt.microsecond // 1000:03d}Z"
    )
