"""Reading the real-log corpus under tests/data/formats/ (shared by the accuracy test, the
integration test and the benchmark): events, their expectations, and the per-line comparison.

Each ``<family>/<name>.log`` is a real sample (sources in the README there) and
``<name>.expected.jsonl`` holds one object per *event* (multi-line events are joined first with
the shipper's multiline preset named in ``<name>.meta.json``, if any).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[2] / "data" / "formats"


@dataclass
class Case:
    family_dir: str
    file: str
    text: str
    expected: dict[str, Any]


def events(path: Path) -> list[str]:
    """The events of one corpus file: lines, or joined by the file's shipper multiline preset."""
    meta_path = path.with_suffix(".meta.json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    preset = meta.get("multiline")
    if not preset:
        return lines
    from shipper.config import MultilineConfig
    from shipper.multiline import MultilineJoiner
    from shipper.presets import multiline_for

    cfg = MultilineConfig(**multiline_for(preset)) if preset != "default" else MultilineConfig()
    joiner = MultilineJoiner(cfg)
    out: list[tuple[str, int, int]] = []
    for i, line in enumerate(lines):
        joiner.feed(line, i, i + 1, 0.0, out)
    joiner.flush(out)
    return [text for text, _, _ in out]


def cases() -> Iterator[Case]:
    for log in sorted(CORPUS.glob("*/*.log")):
        exp_path = log.with_name(log.name[: -len(".log")] + ".expected.jsonl")
        expected = [json.loads(x) for x in exp_path.read_text().splitlines() if x.strip()]
        evs = events(log)
        if len(evs) != len(expected):
            raise AssertionError(f"{log}: {len(evs)} events but {len(expected)} expectations")
        for text, exp in zip(evs, expected, strict=True):
            yield Case(log.parent.name, log.name, text, exp)


def check(fields: dict[str, Any] | None, exp: dict[str, Any]) -> list[str]:
    """What is wrong with parsed ``fields`` against one expectation (empty = right)."""
    if fields is None:
        return ["unparsed"]
    problems: list[str] = []
    ts = fields.get("@timestamp")
    if exp.get("time", "") is None:
        # the line carries no wall-clock time (dmesg's seconds since boot): inventing one is wrong,
        # the arrival time is used instead
        if ts is not None:
            problems.append(f"time: {ts!r} invented for a line without one")
    elif not isinstance(ts, datetime):
        problems.append(f"time: {ts!r}")
    else:
        if exp.get("utc"):
            ts = ts.astimezone(UTC)
        got_time = ts.strftime("%H:%M:%S")
        want = exp["time"]
        if "." in want:
            got_time += f".{ts.microsecond:06d}"[: len(want) - 8]
        if got_time != want:
            problems.append(f"time: {got_time} != {want}")
        if "date" in exp and ts.strftime("%m-%d") != exp["date"]:
            problems.append(f"date: {ts.strftime('%m-%d')} != {exp['date']}")
        if "year" in exp and ts.year != exp["year"]:
            problems.append(f"year: {ts.year} != {exp['year']}")
    if fields.get("log.level") != exp["level"]:
        problems.append(f"level: {fields.get('log.level')} != {exp['level']}")
    if (fields.get("message") or "").strip() != exp["message"].strip():
        problems.append(f"message: {fields.get('message')!r} != {exp['message']!r}")
    return problems


def check_fields(fields: dict[str, Any] | None, exp: dict[str, Any]) -> list[str]:
    if fields is None:
        return ["unparsed"]
    return [
        f"{k}: {fields.get(k)!r} != {v!r}" for k, v in (exp.get("fields") or {}).items() if fields.get(k) != v
    ]
