"""``logharbor pipeline test-parse FILE``: run a sample file through the format library, per event.

For an operator writing a family: which family matched each event and what it extracted, or,
for a line nothing parsed, which families were tried (those whose first-character class fits)
and what the generic fallback made of it. Multi-line events are joined first with a shipper
multiline preset (``--multiline``), as the shipper would.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC
from pathlib import Path
from typing import Any, TextIO

from logharbor import ecs
from pipeline.parse.autodetect import Detector
from pipeline.parse.library import load_library
from pipeline.timeparse import format_timestamp, zone


def _events(path: Path, preset: str | None) -> list[str]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if not preset:
        return lines
    from shipper.config import MultilineConfig
    from shipper.multiline import MultilineJoiner

    joiner = MultilineJoiner(MultilineConfig(preset=preset))
    out: list[tuple[str, int, int]] = []
    for i, line in enumerate(lines):
        joiner.feed(line, i, i + 1, 0.0, out)
    joiner.flush(out)
    return [text for text, _, _ in out]


def run(
    path: Path,
    formats: Path | None = None,
    multiline: str | None = None,
    fmt: str | None = None,
    timezone: str = "UTC",
    limit: int = 0,
    out: TextIO = sys.stdout,
) -> int:
    """Print per-event results and a summary; exit code 1 if any event stayed unparsed."""
    lib = load_library(formats)
    det = Detector(lib)
    tz = zone(timezone)
    counts: Counter[str] = Counter()
    events = _events(path, multiline)
    for n, text in enumerate(events, 1):
        if limit and n > limit:
            break
        found = det.parse_as(fmt, text, tz) if fmt else None
        name = fmt if found is not None else None
        if found is None:
            hit = det.detect(text, ("test-parse", str(path)), tz)
            if hit is not None:
                name, found = hit
        first = text.split("\n", 1)[0]
        print(f"#{n} {first[:160]}", file=out)
        if found is None:
            counts["(unparsed)"] += 1
            tried = ", ".join(f.name for f in lib.candidates(text)) or "none"
            print(f"   UNPARSED — families tried for this first character: {tried}; "
                  "generic fallback: no leading timestamp", file=out)
            continue
        counts[name or "?"] += 1
        print(f"   {name}: {_summary(found)}", file=out)
    print("\nsummary: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()), file=out)
    return 1 if counts.get("(unparsed)") else 0


def _summary(fields: dict[str, Any]) -> str:
    ts = fields.get(ecs.TIMESTAMP)
    when = format_timestamp(ts.astimezone(UTC)) if hasattr(ts, "astimezone") else repr(ts)
    parts = [f"@timestamp={when}", f"level={fields.get(ecs.LEVEL)}", f"message={fields.get(ecs.MESSAGE)!r:.120}"]
    parts += [f"{k}={v!r:.60}" for k, v in fields.items() if k not in (ecs.TIMESTAMP, ecs.LEVEL, ecs.MESSAGE)]
    return " ".join(parts)
