"""Parse benchmark: format detection + parse cost per line, and the pipeline's processing rate.

    .venv/bin/python -m ops.bench.parse [--repeat 5] [--docs 20000]

Figures from one run, on this machine:
1. µs per event (median, p99) of detection + parse by the format library on the real-log
   corpus mix (tests/data/formats/, every family; detection cached per source as in the step),
   first events of each source included;
2. the same on the old benchmark mix (ops/bench/ingest.py: nginx, app, syslog, JSON, logfmt),
   for the library and for the parsers the step used before it (PARSERS + first-character
   dispatch, kept as ``detect_legacy``);
3. the whole rules chain's processing rate on the old mix with the library vs. with the old
   parsers swapped in (same process, alternating rounds): the ratio must stay ≥ 0.90.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class LegacyDetector:
    """The parse step's detection before the format library: hint parser, then detect_legacy."""

    def parse_as(self, name: str, line: str, tz: Any, now: Any = None) -> dict[str, Any] | None:
        from pipeline.parse.detect import PARSERS

        parser = PARSERS.get(name)
        return parser(line) if parser is not None else None

    def detect(self, line: str, key: Any = None, tz: Any = UTC, now: Any = None) -> tuple[str, dict[str, Any]] | None:
        from pipeline.parse.detect import detect_legacy

        return detect_legacy(line)


def corpus_events() -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT / "tests" / "unit" / "pipeline"))
    from format_corpus import cases

    return [(c.file, c.text) for c in cases()]


def old_mix(n: int) -> list[tuple[str, str]]:
    from ops.bench.ingest import LINES

    return [(f"svc-{i % 7}", LINES[i % len(LINES)].format(i=i, a=i % 200, b=i % 250)) for i in range(n)]


def per_line_us(detector: Any, events: list[tuple[str, str]], repeat: int) -> tuple[float, float, int]:
    """(median µs, p99 µs, events parsed) over ``repeat`` passes with a fresh cache each."""
    samples: list[float] = []
    parsed = 0
    clock = time.perf_counter_ns
    for _ in range(repeat):
        if hasattr(detector, "_cache"):
            detector._cache.clear()
        for source, text in events:
            t0 = clock()
            found = detector.detect(text, ("bench", source), UTC)
            samples.append((clock() - t0) / 1000)
            parsed += found is not None
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)], parsed // repeat


def chain_rate(envelopes: list[Any], legacy: bool) -> float:
    """Events/s (process CPU time) of the default rules chain on fresh events."""
    from logharbor.envelope import Envelope
    from pipeline.event import Event
    from pipeline.parse.step import ParseStep
    from pipeline.rules import load_chain
    from pipeline.settings import PipelineSettings

    chain = load_chain(PipelineSettings())
    if legacy:
        for step in chain.steps:
            if isinstance(step, ParseStep):
                step.detector = LegacyDetector()  # type: ignore[assignment]
    records = [e.to_bytes() for e in envelopes]
    events = [Event.from_envelope(Envelope.from_bytes(r)) for r in records]
    started = time.process_time()
    chain.run(events)
    return len(events) / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="passes over each mix for the per-line figures")
    parser.add_argument("--docs", type=int, default=20000, help="events of the old mix for the chain rate")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the chain-rate comparison")
    args = parser.parse_args()

    from ops.bench.ingest import make_envelopes, python_reference_us
    from pipeline.parse.autodetect import Detector
    from pipeline.parse.library import load_library

    lib = load_library()
    corpus = corpus_events()
    mix = old_mix(6000)
    print(f"python reference: sum(range(1000)) = {python_reference_us():.1f} µs; {len(lib)} families")
    med, p99, ok = per_line_us(Detector(lib), corpus, args.repeat)
    print(f"library, corpus mix ({len(corpus)} events, {len({s for s, _ in corpus})} files): "
          f"median {med:.1f} µs, p99 {p99:.1f} µs per event, {ok}/{len(corpus)} parsed")
    med_n, p99_n, ok_n = per_line_us(Detector(lib), mix, args.repeat)
    med_o, p99_o, ok_o = per_line_us(LegacyDetector(), mix, args.repeat)
    print(f"old mix ({len(mix)} lines): library median {med_n:.1f} µs p99 {p99_n:.1f} µs ({ok_n} parsed); "
          f"old parsers median {med_o:.1f} µs p99 {p99_o:.1f} µs ({ok_o} parsed); "
          f"median ratio library/old {med_n / med_o:.2f}")
    envelopes = make_envelopes("bench-parse", args.docs)
    new_rates, old_rates = [], []
    for _ in range(args.rounds):
        old_rates.append(chain_rate(envelopes, legacy=True))
        new_rates.append(chain_rate(envelopes, legacy=False))
    new, old = statistics.median(new_rates), statistics.median(old_rates)
    print(f"rules chain on the old mix ({args.docs} events, median of {args.rounds}): library {new:,.0f} events/s, "
          f"old parsers {old:,.0f} events/s, ratio {new / old:.3f} (limit ≥ 0.90)")


if __name__ == "__main__":
    main()
