"""Timestamp rules shared by the gateway and the pipeline: one reading of an event's time.

Why one module: the gateway validates an event's time (and refuses the future beyond the
allowed skew) while the pipeline re-reads it to set ``@timestamp``; when the two disagreed, an
epoch in microseconds was accepted by one and misread by the other. Both call
:func:`parse_event_time` now.

Accepted: ISO 8601 / RFC 3339 strings with or without zone (no zone means UTC, or the zone the
caller passes), nanosecond fractions (trimmed to microseconds), and epoch numbers or digit
strings whose unit is told by magnitude — seconds below 1e11 (year 5138), milliseconds below
1e14, microseconds below 1e17, nanoseconds above.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, tzinfo

_NANOS_RE = re.compile(r"(\.\d{6})\d+")
EPOCH_MS_ABOVE = 1e11
EPOCH_US_ABOVE = 1e14
EPOCH_NS_ABOVE = 1e17
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_to_datetime(value: float) -> datetime:
    """Epoch seconds/ms/µs/ns (unit by magnitude) → aware UTC datetime; ValueError if out of range."""
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    mag = abs(value)
    if isinstance(value, int):  # exact: a float cannot hold nanoseconds since 1970
        micros = value // 1000 if mag >= EPOCH_NS_ABOVE else value if mag >= EPOCH_US_ABOVE else (
            value * 1000 if mag >= EPOCH_MS_ABOVE else value * 1_000_000)
        try:
            return _EPOCH + timedelta(microseconds=micros)
        except OverflowError:
            raise ValueError(f"epoch value {value} is out of range") from None
    if mag >= EPOCH_NS_ABOVE:
        seconds = value / 1e9
    elif mag >= EPOCH_US_ABOVE:
        seconds = value / 1e6
    elif mag >= EPOCH_MS_ABOVE:
        seconds = value / 1e3
    else:
        seconds = float(value)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"epoch value {value} is out of range") from None


def _is_number_text(text: str) -> bool:
    body = text[1:] if text[:1] == "-" else text
    return body.replace(".", "", 1).isdigit()


def parse_event_time(value: object, tz: tzinfo = UTC) -> datetime:
    """An aware UTC datetime for an event's time value, or ValueError saying what is accepted."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, bool):
        raise ValueError("must be an RFC 3339 string or an epoch number, not a boolean")
    if isinstance(value, int | float):
        return epoch_to_datetime(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("is empty")
        if text[4:5] != "-" and _is_number_text(text):  # "1714564800": fromisoformat would misread it
            return epoch_to_datetime(int(text) if text.lstrip("-").isdigit() else float(text))
        try:
            dt = datetime.fromisoformat(text)  # 3.11 accepts "Z" and most RFC 3339 forms
        except ValueError:
            try:  # nanoseconds, which datetime cannot hold
                dt = datetime.fromisoformat(_NANOS_RE.sub(r"\1", text))
            except ValueError:
                raise ValueError(
                    f"{value[:64]!r} is not RFC 3339 (e.g. 2024-05-01T12:00:00Z) or epoch s/ms/µs/ns"
                ) from None
        return dt if dt.tzinfo else dt.replace(tzinfo=tz)
    raise ValueError(f"must be an RFC 3339 string or an epoch number, not {type(value).__name__}")


def format_wire(dt: datetime) -> str:
    """UTC with microseconds and a trailing Z: the envelope's one form for times."""
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    return dt.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"  # isoformat is ~3x strftime


def human_duration(seconds: float) -> str:
    """3 days / 2 hours / 45 minutes / 12 s: for error messages people read."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{int(seconds)} s"
