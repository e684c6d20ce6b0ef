"""The live overview's counter: per-second bins by the events' own time, the window, late events."""

from __future__ import annotations

from ui.live_overview import LiveCounter


def doc(second: int, level: str, msg: str = "m") -> dict:
    from datetime import UTC, datetime

    ts = datetime.fromtimestamp(second, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"@timestamp": ts, "log": {"level": level}, "message": msg, "event": {"id": msg}}


def test_bins_by_event_second_and_level_with_totals_and_recent_errors():
    c = LiveCounter("t", lambda d: True, 10, window_s=10)
    now = 1_800_000_000
    for s, lvl in [(now - 2, "INFO"), (now - 2, "ERROR"), (now, "WARN"), (now - 9, "FATAL"), (now - 30, "ERROR")]:
        c.offer(doc(s, lvl, f"{lvl}-{s}"), now=now)
    snap = c.snapshot(now=now + 0.5)
    assert (snap["from"], snap["to"], len(snap["seconds"])) == (now - 9, now + 1, 10)
    by_t = {s["t"]: s for s in snap["seconds"]}
    assert by_t[now - 2]["levels"] == {"INFO": 1, "ERROR": 1} and by_t[now - 2]["errors"] == 1
    assert (snap["events"], snap["errors"], snap["late"]) == (4, 2, 1)  # now-30 is older than the window
    assert snap["error_rate"] == 0.5
    now_s = now
    assert [r["id"] for r in snap["recent_errors"]] == [f"FATAL-{now_s - 9}", f"ERROR-{now_s - 2}"]  # newest first
    # the window moves: bins that fell out are gone
    later = c.snapshot(now=now + 8)
    assert later["events"] == 1 and later["from"] == now - 1  # only the WARN at now is left


def test_empty_window_has_no_rate():
    snap = LiveCounter("t", lambda d: True, 10, window_s=30).snapshot(now=1_800_000_000)
    assert snap["events"] == 0 and snap["error_rate"] is None and len(snap["seconds"]) == 30
