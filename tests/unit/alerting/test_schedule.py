"""Aligned windows, bounded catch-up, cron windows and active hours."""

from __future__ import annotations

from datetime import UTC, datetime

from alerting.rules import Rule
from alerting.schedule import due_windows, is_active

M = 60_000


def test_every_minute_windows_are_aligned_and_catchup_is_bounded():
    r = Rule.model_validate({"name": "x", "schedule": {"every": "1m"}})
    assert due_windows(r, None, 10 * M + 5, 5) == ([10 * M], 0)
    assert due_windows(r, 10 * M, 10 * M + 59_999, 5) == ([], 0)
    assert due_windows(r, 10 * M, 11 * M, 5) == ([11 * M], 0)
    ends, skipped = due_windows(r, 10 * M, 30 * M + 1, 5)  # 20 windows missed
    assert ends == [26 * M, 27 * M, 28 * M, 29 * M, 30 * M] and skipped == 15


def test_cron_windows_in_a_zone():
    r = Rule.model_validate({"name": "x", "schedule": {"cron": "*/5 * * * *", "timezone": "Europe/Paris"}})
    t0 = int(datetime(2026, 1, 5, 10, 0, tzinfo=UTC).timestamp() * 1000)
    ends, skipped = due_windows(r, t0, t0 + 17 * M, 10)
    assert ends == [t0 + 5 * M, t0 + 10 * M, t0 + 15 * M] and skipped == 0


def test_business_hours_and_custom_ranges():
    r = Rule.model_validate({"name": "x", "active": "business_hours", "schedule": {"timezone": "Europe/Berlin"}})
    monday_10_berlin = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert is_active(r, monday_10_berlin)
    assert not is_active(r, datetime(2026, 1, 5, 17, 0, tzinfo=UTC))  # 18:00 Berlin
    assert not is_active(r, datetime(2026, 1, 10, 10, 0, tzinfo=UTC))  # Saturday
    night = Rule.model_validate({"name": "x", "active": [{"days": "sat-sun", "from": "00:00", "to": "24:00"}]})
    assert is_active(night, datetime(2026, 1, 10, 3, 0, tzinfo=UTC))
    assert not is_active(night, datetime(2026, 1, 9, 3, 0, tzinfo=UTC))
