"""Timestamp parsing for log lines: fast paths first, one slow fallback.

Every parser hands its raw timestamp here so "timestamps without a zone use the source's
configured zone" is decided in one place. Results are aware datetimes in UTC; the document
carries them as ISO 8601 with milliseconds and ``Z``.
"""

from __future__ import annotations

import re
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
        elif isinstance(value, (int, float)):
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


# -- layouts of the format library -----------------------------------------------------------
# Each layout is a regex with named parts (Y 4-digit year, y 2-digit year, m month number, b month
# name, d day, H M S, f fraction, p AM/PM, z zone, E epoch). A family's pattern embeds a layout as
# %{TS:name}; the text it captured is read back here by the same layout, so no strptime and no
# backtracking: every part is a fixed-width or possessive digit run.
_MON = r"(?P<b>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAYNAME = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_HMS = r"(?P<H>[ \d]?\d):(?P<M>\d\d):(?P<S>\d\d)"
_FRAC = r"(?:[.,](?P<f>\d{1,9}))?+"
# Zone abbreviations seen in server logs (PostgreSQL's log_timezone, Windows hosts); fixed offsets.
_ABBREV: dict[str, int] = {
    "UTC": 0, "GMT": 0, "WET": 0, "WEST": 60, "CET": 60, "CEST": 120, "EET": 120, "EEST": 180, "MSK": 180,
    "IST": 330, "JST": 540, "KST": 540, "AEST": 600, "AEDT": 660, "EST": -300, "EDT": -240, "CST": -360,
    "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540, "HST": -600,
}
_ZONE = (
    r"(?:\s?(?P<z>Z|[+-]\d\d(?::?\d\d)?+(?!\d)|(?:"
    + "|".join(sorted(_ABBREV, key=len, reverse=True))
    + r")\b))?+"
)
LAYOUTS: dict[str, str] = {
    # 2015-10-18 18:01:47,978 · 2017-05-16T00:00:00.008+02:00 · 2017-07-31 13:36:42.585 CEST
    "iso": rf"(?P<Y>\d{{4}})-(?P<m>\d\d)-(?P<d>\d\d)[T ]{_HMS}{_FRAC}{_ZONE}",
    # 2005-06-03-15.42.50.675872 (IBM BlueGene RAS)
    "iso_dotted": r"(?P<Y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)-(?P<H>\d\d)\.(?P<M>\d\d)\.(?P<S>\d\d)(?:\.(?P<f>\d{1,9}))?+",
    # 17/06/09 20:10:40 · 2016/10/25 14:49:34 (Spark, Go log, nginx error)
    "ymd_slash": rf"(?:(?P<Y>\d{{4}})|(?P<y>\d\d))/(?P<m>\d\d)/(?P<d>\d\d) {_HMS}{_FRAC}",
    # 081109 203615 (HDFS) · 160126 13:23:14 / 160126  9:01:02 (MySQL 5.x)
    "compact": r"(?P<y>\d\d)(?P<m>\d\d)(?P<d>\d\d) ++"
    r"(?:(?P<H>[ \d]?\d):(?P<M>\d\d):(?P<S>\d\d)|(?P<H2>\d\d)(?P<M2>\d\d)(?P<S2>\d\d))"
    r"(?:[.,](?P<f>\d{1,9}))?+",
    # Jan 19 10:30:00 · Jun  4 10:30:00.123 · optional year after the day (Jun 14 2015 15:16:01)
    "bsd": rf"{_MON} ++(?P<d>\d\d?)(?: (?P<Y>\d{{4}}))? {_HMS}{_FRAC}",
    # Sun Dec 04 04:47:44 2005 · Wed Oct 11 14:32:52.123456 2000 (Apache error, ctime)
    "ctime": rf"{_DAYNAME} {_MON} ++(?P<d>\d\d?) {_HMS}{_FRAC} (?P<Y>\d{{4}})",
    # 19/Jan/2026:10:30:00 +0000 (Common Log Format)
    "clf": r"(?P<d>\d\d)/(?P<b>[A-Z][a-z]{2})/(?P<Y>\d{4}):(?P<H>\d\d):(?P<M>\d\d):(?P<S>\d\d)(?: (?P<z>[+-]\d{4}))?+",
    # 03-17 16:13:38.811 (Android logcat) · 2015-03-17 form is "iso"
    "md_dash": rf"(?P<m>\d\d)-(?P<d>\d\d) {_HMS}{_FRAC}",
    # 10.30 16:49:06 (Proxifier)
    "md_dot": rf"(?P<m>\d\d)\.(?P<d>\d\d) {_HMS}{_FRAC}",
    # 20171223-22:15:29:606 (pipe-separated app logs; the last part is milliseconds, unpadded)
    "ymd_compact_ms": r"(?P<Y>\d{4})(?P<m>\d\d)(?P<d>\d\d)-(?P<H>\d\d?):(?P<M>\d\d?):(?P<S>\d\d?)"
    r"(?::(?P<ms>\d{1,3}))?+",
    # 27 Dec 2018 11:19:18.874 · 30 May 12:23:52.442 (Redis)
    "dmy_name": rf"(?P<d>\d\d?) {_MON}(?: (?P<Y>\d{{4}}))? {_HMS}{_FRAC}",
    # 18-Oct-2015 18:01:47.978 (Tomcat/JUL one-line)
    "dmy_dash": rf"(?P<d>\d\d)-{_MON}-(?P<Y>\d{{4}}) {_HMS}{_FRAC}",
    # Oct 18, 2015 6:01:47 PM (java.util.logging SimpleFormatter)
    "jul": rf"{_MON} (?P<d>\d\d?), (?P<Y>\d{{4}}) {_HMS} (?P<p>AM|PM)",
    # 1203 10:00:00.123456 after the klog level letter
    "klog": rf"(?P<m>\d\d)(?P<d>\d\d) {_HMS}{_FRAC}",
    # 10:00:00 / 10:00:00.123 (time only: today)
    "hms": rf"{_HMS}{_FRAC}",
    # 1117838570 · 1496141844123 · 1496141844.123 (epoch seconds or milliseconds)
    "epoch": r"(?P<E>\d{10}(?:\d{3})?(?:\.\d{1,9})?)",
}
_LAYOUT_RES: dict[str, re.Pattern[str]] = {name: re.compile(rx) for name, rx in LAYOUTS.items()}


def layout_regex(name: str) -> str:
    """The regex (without groups of its own) that a family pattern embeds for layout ``name``."""
    try:
        rx = LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown timestamp layout {name!r}; known: {', '.join(LAYOUTS)}") from None
    return re.sub(r"\(\?P<\w+>", "(?:", rx)


def _zone_of(text: str | None, tz: tzinfo) -> tzinfo:
    if not text:
        return tz
    if text[0] in "+-" or text in ("Z", "z"):
        if len(text) == 3:
            text += "00"
        return _offset(text) or tz
    minutes = _ABBREV.get(text)
    return tz if minutes is None else timezone(timedelta(minutes=minutes))


def infer_year(month: int, day: int, tz: tzinfo, now: datetime | None = None) -> int:
    """The current year, or the previous one if the date would lie more than a day ahead."""
    now = (now or datetime.now(UTC)).astimezone(tz)
    year = now.year
    try:
        if datetime(year, month, day, tzinfo=tz) - now > timedelta(days=1):
            year -= 1
    except ValueError:  # 29 Feb in a non-leap current year
        year -= 1
    return year


def parse_layout(name: str, text: str, tz: tzinfo = UTC, now: datetime | None = None) -> datetime | None:
    """An aware datetime for ``text`` in layout ``name`` (zone-less times are in ``tz``), or None."""
    m = _LAYOUT_RES[name].match(text)
    if m is None:
        return None
    g = m.groupdict()
    try:
        if g.get("E"):
            return _epoch(float(g["E"]))
        hour = g.get("H") or g.get("H2")
        minute = g.get("M") or g.get("M2")
        second = g.get("S") or g.get("S2")
        if hour is None or minute is None or second is None:
            return None
        h, mi, s = int(hour), int(minute), int(second)
        if g.get("p"):
            h = h % 12 + (12 if g["p"] == "PM" else 0)
        micro = 0
        frac = g.get("f")
        if frac:
            micro = int((frac + "000000")[:6])
        elif g.get("ms"):
            micro = int(g["ms"]) * 1000
        zone_info = _zone_of(g.get("z"), tz)
        if g.get("m") or g.get("b"):
            month = int(g["m"]) if g.get("m") else MONTHS[g["b"]]
            day = int(g["d"])
            if g.get("Y"):
                year = int(g["Y"])
            elif g.get("y"):
                year = 2000 + int(g["y"])
            else:
                year = infer_year(month, day, zone_info, now)
            return datetime(year, month, day, h, mi, s, micro, tzinfo=zone_info)
        today = (now or datetime.now(UTC)).astimezone(zone_info)
        return datetime(today.year, today.month, today.day, h, mi, s, micro, tzinfo=zone_info)
    except (ValueError, KeyError, OverflowError, OSError):
        return None
