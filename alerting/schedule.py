"""When a scheduled rule is evaluated: aligned window ends, bounded catch-up, active hours.

Window ends are aligned (multiples of ``every`` since the epoch, or the cron's fire times in the
schedule's zone), never "now minus the window": two evaluators, or one restarted, compute the
same windows, which is what makes the outbox key ``rule|group|transition|window`` deduplicate.
After downtime at most ``max_catchup`` missed windows are evaluated (the oldest are skipped and
counted), so a restart neither floods the channels nor silently forgets the recent past.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from alerting.durations import parse_duration

if TYPE_CHECKING:  # annotations only: rules imports this module to validate `active`
    from alerting.rules import Rule

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUSINESS_HOURS: list[dict[str, Any]] = [{"days": "mon-fri", "from": "09:00", "to": "17:00"}]
_HHMM = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def _days(spec: Any) -> set[int]:
    items = spec if isinstance(spec, list) else str(spec).split(",")
    out: set[int] = set()
    for item in items:
        item = str(item).strip().lower()[:7]
        if "-" in item:
            a, b = (p.strip()[:3] for p in item.split("-", 1))
            if a not in DAYS or b not in DAYS:
                raise ValueError(f"active: unknown day range {item!r} (use mon..sun)")
            i, j = DAYS.index(a), DAYS.index(b)
            out.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        elif item[:3] in DAYS:
            out.add(DAYS.index(item[:3]))
        else:
            raise ValueError(f"active: unknown day {item!r} (use mon..sun)")
    return out


def _minutes(text: str) -> int:
    m = _HHMM.match(str(text).strip())
    if not m:
        raise ValueError(f"active: time {text!r} must be HH:MM")
    return int(m.group(1)) * 60 + int(m.group(2))


def _ranges(active: Any) -> list[tuple[set[int], int, int]] | None:
    if active in (None, "always", ""):
        return None
    if active == "business_hours":
        active = BUSINESS_HOURS
    if isinstance(active, dict):
        active = [active]
    if not isinstance(active, list) or not active:
        raise ValueError("active must be 'always', 'business_hours' or a list of "
                         "{\"days\": \"mon-fri\", \"from\": \"09:00\", \"to\": \"18:00\"}")
    out = []
    for r in active:
        if not isinstance(r, dict):
            raise ValueError("active: each range is an object with days, from, to")
        out.append((_days(r.get("days", "mon-sun")), _minutes(r.get("from", "00:00")), _minutes(r.get("to", "24:00"))))
    return out


def check_active(active: Any) -> None:
    """Raise ValueError naming the problem if ``active`` is not a valid specification."""
    _ranges(active)


def is_active(rule: Rule, at: datetime) -> bool:
    """Whether the rule is active at ``at`` (in the rule's schedule time zone)."""
    ranges = _ranges(rule.active)
    if ranges is None:
        return True
    local = at.astimezone(ZoneInfo(rule.schedule.timezone))
    minute = local.hour * 60 + local.minute
    return any(local.weekday() in days and a <= minute < b for days, a, b in ranges)


def _every_ms(rule: Rule) -> int:
    return int(parse_duration(rule.schedule.every or "1m") * 1000)


def latest_end(rule: Rule, until_ms: int) -> int:
    """The latest aligned window end at or before ``until_ms``."""
    if rule.schedule.cron:
        from croniter import croniter

        base = datetime.fromtimestamp(until_ms / 1000 + 0.001, ZoneInfo(rule.schedule.timezone))
        return int(croniter(rule.schedule.cron, base).get_prev(datetime).timestamp() * 1000)
    every = _every_ms(rule)
    return until_ms - until_ms % every


def ends_between(rule: Rule, after_ms: int, until_ms: int, limit: int) -> tuple[list[int], int]:
    """Aligned ends in ``(after_ms, until_ms]``: the newest ``limit`` of them, and how many were skipped."""
    last = latest_end(rule, until_ms)
    if last <= after_ms:
        return [], 0
    if rule.schedule.cron:
        from croniter import croniter

        base = datetime.fromtimestamp(after_ms / 1000, ZoneInfo(rule.schedule.timezone))
        it = croniter(rule.schedule.cron, base)
        ends: list[int] = []
        skipped = 0
        while True:
            t = int(it.get_next(datetime).timestamp() * 1000)
            if t > until_ms:
                break
            ends.append(t)
            if len(ends) > limit:
                ends.pop(0)
                skipped += 1
        return ends, skipped
    every = _every_ms(rule)
    total = (last - after_ms) // every
    n = min(total, limit)
    return [last - every * i for i in range(n - 1, -1, -1)], total - n


def due_windows(rule: Rule, last_end_ms: int | None, safe_until_ms: int, max_catchup: int) -> tuple[list[int], int]:
    """The window ends to evaluate now and the number of missed windows skipped.

    ``safe_until_ms`` is the newest instant whose events are known to be searchable (the
    ingestion watermark minus the refresh interval). A rule never evaluated starts with the
    latest window only.
    """
    if last_end_ms is None:
        end = latest_end(rule, safe_until_ms)
        return [end], 0
    return ends_between(rule, last_end_ms, safe_until_ms, max(1, max_catchup))


def utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
