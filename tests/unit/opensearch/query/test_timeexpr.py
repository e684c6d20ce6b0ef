"""Time expressions with a fixed clock (Wednesday 2026-01-21 12:00 UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from opensearch.query import TimeExpressionError, parse_time_point, parse_time_range
from opensearch.query.ast import CalendarFilter
from opensearch.query.calendar import in_calendar, local_windows
from opensearch.query.timeexpr import parse_event_timestamp, to_epoch_millis

NOW = datetime(2026, 1, 21, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("last 5 minutes", NOW - timedelta(minutes=5)),
        ("last 24 hours", NOW - timedelta(hours=24)),
        ("last 7 days", NOW - timedelta(days=7)),
        ("last 15m", NOW - timedelta(minutes=15)),
        ("LAST 2h", NOW - timedelta(hours=2)),
        ("past 30 seconds", NOW - timedelta(seconds=30)),
        ("last hour", NOW - timedelta(hours=1)),
        ("last 1 week", NOW - timedelta(days=7)),
        ("last 3 months", utc(2025, 10, 21, 12)),
        ("since 2026-01-19", utc(2026, 1, 19)),
    ],
)
def test_open_ended_ranges(text, start):
    assert parse_time_range(text, NOW) == (start, None)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("today", utc(2026, 1, 21), utc(2026, 1, 22)),
        ("yesterday", utc(2026, 1, 20), utc(2026, 1, 21)),
        ("this week", utc(2026, 1, 19), utc(2026, 1, 26)),
        ("this month", utc(2026, 1, 1), utc(2026, 2, 1)),
        ("2026-01-19", utc(2026, 1, 19), utc(2026, 1, 20)),
        ("2026-01-19 to 2026-01-20", utc(2026, 1, 19), utc(2026, 1, 21)),
        ("2026-01-19 10:00 to 2026-01-19 12:30", utc(2026, 1, 19, 10), utc(2026, 1, 19, 12, 30)),
        ("from 2026-01-19 to today", utc(2026, 1, 19), utc(2026, 1, 22)),
        ("between 2026-01-19 and 2026-01-20", utc(2026, 1, 19), utc(2026, 1, 21)),
    ],
)
def test_closed_ranges(text, start, end):
    assert parse_time_range(text, NOW) == (start, end)


def test_datetime_alone_means_its_unit():
    """§5.5.3: "2026-01-19 10:00" is that hour, "2026-01-19 10:30:00" that minute (issue 11 item 7)."""
    assert parse_time_range("2026-01-19 10:00", NOW) == (utc(2026, 1, 19, 10), utc(2026, 1, 19, 11))
    assert parse_time_range("2026-01-19 10:30:00", NOW) == (utc(2026, 1, 19, 10, 30), utc(2026, 1, 19, 10, 31))
    assert parse_time_range("2026-01-19T10:30:00.5Z", NOW)[1] is None  # a fraction: from that instant on
    assert parse_time_range("2026-01-19 10:30:00 to 2026-01-19 11:30:00", NOW) == (
        utc(2026, 1, 19, 10, 30), utc(2026, 1, 19, 11, 30))


def test_calendar_words_use_the_zone():
    start, end = parse_time_range("today", NOW, "Europe/Berlin")
    assert start == datetime(2026, 1, 21, tzinfo=BERLIN)
    assert start.astimezone(UTC) == utc(2026, 1, 20, 23)
    assert end - start == timedelta(days=1)


def test_today_near_midnight_in_another_zone():
    late = utc(2026, 1, 21, 23, 30)  # already Thursday in Berlin
    start, _ = parse_time_range("today", late, BERLIN)
    assert start.date().isoformat() == "2026-01-22"


def test_dst_day_is_23_hours_in_berlin():
    start, end = parse_time_range("2026-03-29", NOW, BERLIN)
    assert (end.astimezone(UTC) - start.astimezone(UTC)) == timedelta(hours=23)


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("now", NOW),
        ("now-15m", NOW - timedelta(minutes=15)),
        ("-1h", NOW - timedelta(hours=1)),
        ("now+1d", NOW + timedelta(days=1)),
        ("15 minutes ago", NOW - timedelta(minutes=15)),
        ("2026-01-19", utc(2026, 1, 19)),
        ("2026-01-19 10:00", utc(2026, 1, 19, 10)),
        ("2026-01-19T10:00:05Z", utc(2026, 1, 19, 10, 0, 5)),
        ("2026-01-19T10:00:05.250+02:00", utc(2026, 1, 19, 8, 0, 5, 250000)),
        ("1768816800000", utc(2026, 1, 19, 10)),
        ("today", utc(2026, 1, 21)),
        ("last 24 hours", NOW - timedelta(hours=24)),
    ],
)
def test_time_points(text, point):
    assert parse_time_point(text, NOW) == point


def test_point_without_offset_uses_zone():
    assert parse_time_point("2026-01-19 10:00", NOW, "Europe/Berlin").astimezone(UTC) == utc(2026, 1, 19, 9)


@pytest.mark.parametrize("text", ["", "next tuesday", "2026-13-01", "2026-01-20 to 2026-01-19", "last 5 parsecs"])
def test_bad_expressions(text):
    with pytest.raises(TimeExpressionError):
        parse_time_range(text, NOW)


def test_bad_point():
    with pytest.raises(TimeExpressionError, match="cannot read"):
        parse_time_point("soon", NOW)


def test_event_timestamps_read_like_opensearch():
    ms = to_epoch_millis(utc(2026, 1, 19, 10))
    assert parse_event_timestamp("2026-01-19T10:00:00Z") == ms
    assert parse_event_timestamp("2026-01-19T10:00:00") == ms  # naive = UTC
    assert parse_event_timestamp("2026-01-19T12:00:00+02:00") == ms
    assert parse_event_timestamp(ms) == ms
    assert parse_event_timestamp(str(ms)) == ms
    assert parse_event_timestamp("2026-01-19T10:00:00.0009Z") == ms  # millisecond precision
    assert parse_event_timestamp("garbage") is None
    assert parse_event_timestamp(True) is None


def test_business_hour_windows_are_per_day_and_skip_weekends():
    cal = CalendarFilter(frozenset(range(5)), (540, 1020), "UTC")
    windows = local_windows(cal, utc(2026, 1, 16), utc(2026, 1, 20), 100)  # Fri..Mon
    assert windows == [(utc(2026, 1, 16, 9), utc(2026, 1, 16, 17)), (utc(2026, 1, 19, 9), utc(2026, 1, 19, 17))]


def test_weekday_windows_merge_consecutive_days():
    cal = CalendarFilter(frozenset(range(5)), None, "UTC")
    windows = local_windows(cal, utc(2026, 1, 14, 12), utc(2026, 1, 21, 12), 100)
    assert windows == [(utc(2026, 1, 14, 12), utc(2026, 1, 17)), (utc(2026, 1, 19), utc(2026, 1, 21, 12))]


def test_business_hours_follow_local_time_across_dst():
    cal = CalendarFilter(None, (540, 1020), "Europe/Berlin")
    windows = local_windows(cal, utc(2026, 3, 28), utc(2026, 3, 31), 100)
    starts = [a.astimezone(UTC).hour for a, _ in windows]
    assert starts == [8, 7, 7]  # 09:00 CET, then 09:00 CEST


def test_in_calendar_matches_windows():
    cal = CalendarFilter(frozenset(range(5)), (540, 1020), "UTC")
    assert in_calendar(cal, ZoneInfo("UTC"), to_epoch_millis(utc(2026, 1, 19, 9)))
    assert in_calendar(cal, ZoneInfo("UTC"), to_epoch_millis(utc(2026, 1, 19, 16, 59, 59)))
    assert not in_calendar(cal, ZoneInfo("UTC"), to_epoch_millis(utc(2026, 1, 19, 17)))
    assert not in_calendar(cal, ZoneInfo("UTC"), to_epoch_millis(utc(2026, 1, 18, 10)))  # Sunday
