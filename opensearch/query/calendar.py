"""Business hours / weekdays as plain date ranges, so the DSL needs no script.

A recurring window ("09:00–17:00 on weekdays in Europe/Berlin") is expanded into one range
per qualifying local day inside the query's time range (consecutive whole days merged), which
works on any index without derived fields. The count is bounded by ``max_calendar_days``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from opensearch.query.ast import CalendarFilter


def local_windows(
    cal: CalendarFilter, start: datetime, end: datetime, max_days: int
) -> list[tuple[datetime, datetime]]:
    """The windows of ``cal`` that intersect ``[start, end)``, clipped to it, in time order.

    Raises ValueError when the range spans more than ``max_days`` local days.
    """
    zone = ZoneInfo(cal.zone)
    first = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    if (last - first).days + 1 > max_days:
        raise ValueError(f"the time range spans more than {max_days} days")
    windows: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        if cal.days is None or day.weekday() in cal.days:
            if cal.hours is None:
                w_start = datetime.combine(day, time(0), tzinfo=zone)
                w_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
            else:
                # wall-clock times in the zone, so DST days keep 09:00 local
                w_start = datetime.combine(day, time(cal.hours[0] // 60, cal.hours[0] % 60), tzinfo=zone)
                w_end = (datetime.combine(day, time(cal.hours[1] // 60, cal.hours[1] % 60), tzinfo=zone)
                         if cal.hours[1] < 24 * 60
                         else datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone))
            lo, hi = max(w_start, start), min(w_end, end)
            if lo < hi:
                if windows and windows[-1][1] == lo:
                    windows[-1] = (windows[-1][0], hi)
                else:
                    windows.append((lo, hi))
        day += timedelta(days=1)
    return windows


def in_calendar(cal: CalendarFilter, zone: ZoneInfo, epoch_ms: int) -> bool:
    """Whether an instant falls inside the recurring window (the matcher's side of the same rule)."""
    local = datetime.fromtimestamp(epoch_ms / 1000, tz=zone)
    if cal.days is not None and local.weekday() not in cal.days:
        return False
    if cal.hours is not None:
        minute = local.hour * 60 + local.minute
        return cal.hours[0] <= minute < cal.hours[1]
    return True
