"""Time expressions: ``last 15 minutes``, ``today``, ``2026-01-19 to 2026-01-20``, ``now-1h`` ...

Used three ways: the ``from``/``to`` API parameters (:func:`parse_time_point`), whole-range
parameters and bare clauses inside a query (:func:`parse_time_range`), and values compared
with ``@timestamp`` (``timestamp >= "2026-01-19 09:00"``). Everything is computed from an
explicit ``now`` and zone so results are reproducible in tests and identical in both back ends.

Ranges are half-open ``[start, end)``; ``end`` is None for open-ended ranges ("last 15 minutes"
keeps matching events that arrive after the query was parsed, which live tail needs).
Calendar words resolve in the given zone: ``today`` is local midnight to local midnight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta


class TimeExpressionError(ValueError):
    """The text is not a time expression LogHarbor understands; the message lists the forms."""


HELP = (
    "use e.g. 'last 15 minutes', 'last 24h', 'today', 'yesterday', 'this week', 'this month', "
    "'2026-01-19', '2026-01-19 10:00', '2026-01-19 to 2026-01-20', 'since 2026-01-19', 'now-1h'"
)

_UNITS: dict[str, str] = {}
for _unit, _names in {
    "seconds": ("s", "sec", "secs", "second", "seconds"),
    "minutes": ("m", "min", "mins", "minute", "minutes"),
    "hours": ("h", "hr", "hrs", "hour", "hours"),
    "days": ("d", "day", "days"),
    "weeks": ("w", "wk", "wks", "week", "weeks"),
    "months": ("mo", "mon", "month", "months", "M"),
    "years": ("y", "yr", "yrs", "year", "years"),
}.items():
    for _name in _names:
        _UNITS[_name] = _unit

_UNIT_RE = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_LAST = re.compile(rf"^(?:last|past)\s+(?:(\d+)\s*)?({_UNIT_RE})$", re.IGNORECASE)
_AGO = re.compile(rf"^(\d+)\s*({_UNIT_RE})\s+ago$", re.IGNORECASE)
_MATH = re.compile(rf"^(?:now)?\s*([+-])\s*(\d+)\s*({_UNIT_RE})$", re.IGNORECASE)
_ABSOLUTE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6})\d*)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_RANGE_SPLIT = re.compile(r"\s+(?:to|until|-)\s+", re.IGNORECASE)
_EPOCH_MS = re.compile(r"^\d{11,14}$")


def _zone(tz: tzinfo | str | None) -> tzinfo:
    if tz is None:
        return UTC
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _now(now: datetime | None, zone: tzinfo) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=zone)


def _delta(amount: int, unit_text: str) -> relativedelta:
    unit = _UNITS.get(unit_text) or _UNITS.get(unit_text.lower())
    if unit is None:  # pragma: no cover - the regexes only admit known units
        raise TimeExpressionError(f"unknown time unit '{unit_text}'")
    return relativedelta(**{unit: amount})


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


@dataclass(frozen=True, slots=True)
class _Absolute:
    value: datetime
    date_only: bool
    span: timedelta | None = None  # the unit a time without a range means (hour or minute)


def _parse_absolute(text: str, zone: tzinfo) -> _Absolute | None:
    m = _ABSOLUTE.match(text.strip())
    if not m:
        return None
    y, mo, d, hh, mm, ss, frac, off = m.groups()
    try:
        dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0),
                      int((frac or "0").ljust(6, "0")))
    except ValueError as exc:
        raise TimeExpressionError(f"invalid date '{text.strip()}': {exc}") from exc
    if off:
        if off == "Z":
            dt = dt.replace(tzinfo=UTC)
        else:
            sign = 1 if off[0] == "+" else -1
            digits = off[1:].replace(":", "")
            dt = dt.replace(tzinfo=UTC) - sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    else:
        dt = dt.replace(tzinfo=zone)
    span = None
    if hh is not None and not frac:  # §5.5.3: "10:00" → that hour, "10:30:00" → that minute
        span = timedelta(minutes=1) if ss is not None else timedelta(hours=1)
    return _Absolute(dt, date_only=hh is None, span=span)


def _calendar_range(word: str, now: datetime, zone: tzinfo) -> tuple[datetime, datetime] | None:
    local_today = now.astimezone(zone).date()
    if word == "today":
        return _local_midnight(local_today, zone), _local_midnight(local_today + timedelta(days=1), zone)
    if word == "yesterday":
        return _local_midnight(local_today - timedelta(days=1), zone), _local_midnight(local_today, zone)
    if word == "this week":  # ISO weeks start on Monday
        monday = local_today - timedelta(days=local_today.weekday())
        return _local_midnight(monday, zone), _local_midnight(monday + timedelta(days=7), zone)
    if word == "this month":
        first = local_today.replace(day=1)
        return _local_midnight(first, zone), _local_midnight(first + relativedelta(months=1), zone)
    if word == "this year":
        first = local_today.replace(month=1, day=1)
        return _local_midnight(first, zone), _local_midnight(first.replace(year=first.year + 1), zone)
    return None


def parse_time_point(text: str, now: datetime | None = None, tz: tzinfo | str | None = None) -> datetime:
    """One instant: ``now``, ``now-15m``, ``15 minutes ago``, ISO 8601, ``2026-01-19 10:00``,
    epoch milliseconds, or the start of any range expression (``today``, ``last 24 hours``).

    Dates without an offset are read in ``tz`` (default UTC). The result is timezone-aware.
    """
    zone = _zone(tz)
    ref = _now(now, zone)
    s = " ".join(text.strip().split())
    if not s:
        raise TimeExpressionError(f"empty time expression; {HELP}")
    if s.lower() == "now":
        return ref
    if _EPOCH_MS.match(s):
        return datetime.fromtimestamp(int(s) / 1000, tz=UTC)
    m = _MATH.match(s)
    if m:
        sign, amount, unit = m.groups()
        delta = _delta(int(amount), unit)
        return ref - delta if sign == "-" else ref + delta
    m = _AGO.match(s)
    if m:
        return ref - _delta(int(m.group(1)), m.group(2))
    absolute = _parse_absolute(s, zone)
    if absolute is not None:
        return absolute.value
    return parse_time_range(s, ref, zone)[0]


def _range_end_point(text: str, now: datetime, zone: tzinfo) -> datetime:
    """The exclusive end of a range written as ``... to <text>``: a bare date includes that day."""
    absolute = _parse_absolute(text, zone)
    if absolute is not None:
        if absolute.date_only:
            return _local_midnight(absolute.value.date() + timedelta(days=1), zone)
        return absolute.value
    cal = _calendar_range(text.lower(), now, zone)
    if cal is not None:
        return cal[1]
    return parse_time_point(text, now, zone)


def parse_time_range(
    text: str, now: datetime | None = None, tz: tzinfo | str | None = None
) -> tuple[datetime, datetime | None]:
    """A half-open range ``[start, end)`` (``end`` None = open-ended).

    ``last N <unit>`` → (now − N, None); ``today``/``yesterday``/``this week``/``this month``
    → that calendar period in ``tz``; ``2026-01-19`` → that whole day; ``2026-01-19 10:00`` →
    that hour; ``2026-01-19 10:30:00`` → that minute (§5.5.3); with a fraction of a second →
    from that instant on; ``A to B`` → from A to B (a date-only B includes day B);
    ``since A`` → (A, None).
    """
    zone = _zone(tz)
    ref = _now(now, zone)
    s = " ".join(text.strip().split())
    low = s.lower()
    if not s:
        raise TimeExpressionError(f"empty time expression; {HELP}")
    m = _LAST.match(s)
    if m:
        return ref - _delta(int(m.group(1) or 1), m.group(2)), None
    cal = _calendar_range(low, ref, zone)
    if cal is not None:
        return cal
    if low.startswith("since "):
        return parse_time_point(s[6:], ref, zone), None
    for prefix in ("from ", "between "):
        if low.startswith(prefix):
            s = s[len(prefix):]
            s = re.sub(r"\s+and\s+", " to ", s, count=1, flags=re.IGNORECASE)
            break
    parts = _RANGE_SPLIT.split(s, maxsplit=1)
    if len(parts) == 2:
        start = parse_time_point(parts[0], ref, zone)
        end = _range_end_point(parts[1], ref, zone)
        if end <= start:
            raise TimeExpressionError(f"time range '{text.strip()}' ends before it starts")
        return start, end
    absolute = _parse_absolute(s, zone)
    if absolute is not None:
        if absolute.date_only:
            day = absolute.value.date()
            return absolute.value, _local_midnight(day + timedelta(days=1), zone)
        if absolute.span is not None:
            return absolute.value, absolute.value + absolute.span
        return absolute.value, None
    if low == "now" or _MATH.match(s) or _AGO.match(s) or _EPOCH_MS.match(s):
        return parse_time_point(s, ref, zone), None
    raise TimeExpressionError(f"cannot read '{text.strip()}' as a time; {HELP}")


def intersect(
    a: tuple[datetime | None, datetime | None], b: tuple[datetime | None, datetime | None]
) -> tuple[datetime | None, datetime | None]:
    """The overlap of two half-open ranges (None = unbounded on that side)."""
    starts = [x for x in (a[0], b[0]) if x is not None]
    ends = [x for x in (a[1], b[1]) if x is not None]
    return (max(starts) if starts else None, min(ends) if ends else None)


def to_epoch_millis(dt: datetime) -> int:
    """Milliseconds since the epoch: the precision of an OpenSearch ``date`` field."""
    return int((dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1))


def parse_event_timestamp(value: object) -> int | None:
    """An event's ``@timestamp`` as epoch millis, read the way OpenSearch's default date format
    (``strict_date_optional_time||epoch_millis``) reads it; naive times are UTC. None if unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, str):
        return None
    s = value.strip()
    if s.isdigit():
        return int(s)
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return to_epoch_millis(dt)
