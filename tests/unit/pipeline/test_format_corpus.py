"""The format library on real logs: per family, ≥ 97 % of events with the right time of day,
level and message (tests/data/formats/, sources in its README), and the extracted fields."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest
from format_corpus import CORPUS, cases, check, check_fields

from pipeline.parse.autodetect import Detector
from pipeline.parse.library import load_library

NOW = datetime(2026, 12, 1, tzinfo=UTC)  # year inference is tested separately
MIN_ACCURACY = 0.97
MIN_FAMILIES = 25


def _run() -> tuple[Counter[str], Counter[str], Counter[str], dict[str, list[str]]]:
    det = Detector(load_library())
    total: Counter[str] = Counter()
    right: Counter[str] = Counter()
    fields_right: Counter[str] = Counter()
    wrong: dict[str, list[str]] = defaultdict(list)
    for case in cases():
        found = det.detect(case.text, ("corpus", case.file), UTC, NOW)
        fields = found[1] if found else None
        total[case.family_dir] += 1
        problems = check(fields, case.expected)
        if problems:
            wrong[case.family_dir].append(f"{case.file}: {problems} in {case.text[:120]!r}")
        else:
            right[case.family_dir] += 1
        if not check_fields(fields, case.expected):
            fields_right[case.family_dir] += 1
    return total, right, fields_right, wrong


RESULTS = None


def results() -> tuple[Counter[str], Counter[str], Counter[str], dict[str, list[str]]]:
    global RESULTS
    if RESULTS is None:
        RESULTS = _run()
    return RESULTS


FAMILIES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def test_corpus_has_enough_real_families() -> None:
    total = results()[0]
    assert len(total) >= MIN_FAMILIES, f"{len(total)} families in the corpus"
    small = {f: n for f, n in total.items() if n < 50}
    assert not small, f"families with fewer than 50 events: {small}"


@pytest.mark.parametrize("family", FAMILIES)
def test_family_accuracy(family: str) -> None:
    total, right, fields_right, wrong = results()
    share = right[family] / total[family]
    assert share >= MIN_ACCURACY, f"{family}: {share:.3f} right; first misses: {wrong[family][:5]}"
    assert fields_right[family] / total[family] >= MIN_ACCURACY, f"{family}: extracted fields wrong too often"
