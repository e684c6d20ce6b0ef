"""Multiline joining: Java and Python traces out of the box, patterns, limits, timeouts."""

import itertools

from shipper.config import MultilineConfig
from shipper.multiline import Joined, MultilineJoiner


def join(lines: list[str], cfg: MultilineConfig | None = None) -> list[Joined]:
    j = MultilineJoiner(cfg or MultilineConfig())
    out: list[Joined] = []
    pos = 0
    for line in lines:
        end = pos + len(line.encode()) + 1
        j.feed(line, pos, end, 0.0, out)
        pos = end
    j.flush(out)
    return out


JAVA = [
    "2024-05-01 10:00:00 ERROR Request failed",
    "java.lang.IllegalStateException: boom",
    "\tat com.example.Foo.bar(Foo.java:10)",
    "\tat com.example.Main.main(Main.java:5)",
    "Caused by: java.io.IOException: disk",
    "\tat com.example.Disk.read(Disk.java:3)",
    "\t... 2 more",
    "2024-05-01 10:00:01 INFO next request",
]

PYTHON = [
    "2024-05-01 10:00:00,123 ERROR worker crashed",
    "Traceback (most recent call last):",
    '  File "app.py", line 3, in <module>',
    "    main()",
    "KeyError: 'x'",
    "",
    "During handling of the above exception, another exception occurred:",
    "",
    "Traceback (most recent call last):",
    '  File "app.py", line 5, in <module>',
    "ValueError: bad",
    "2024-05-01 10:00:01,000 INFO recovered",
]


def test_java_stack_trace_is_one_event_with_offsets_of_first_and_last_line() -> None:
    out = join(JAVA)
    assert [t for t, _, _ in out] == ["\n".join(JAVA[:7]), JAVA[7]]
    _text, start, end = out[0]
    assert start == 0 and end == sum(len(x) + 1 for x in JAVA[:7])
    assert out[1][1] == end


def test_python_traceback_including_chained_exception_is_one_event() -> None:
    out = join(PYTHON)
    assert len(out) == 2
    assert out[0][0].startswith("2024-05-01 10:00:00,123 ERROR") and out[0][0].endswith("ValueError: bad")
    assert out[1][0] == PYTHON[-1]


def test_ordinary_lines_stay_separate() -> None:
    lines = ["GET /a 200", "GET /b 404", "Error count is 3"]
    assert [t for t, _, _ in join(lines)] == lines


def test_start_pattern_makes_every_other_line_a_continuation() -> None:
    cfg = MultilineConfig(start_pattern=r"\d{4}-\d{2}-\d{2} ")
    lines = ["2024-01-01 a", "not indented", "more", "2024-01-02 b"]
    assert [t for t, _, _ in join(lines, cfg)] == ["2024-01-01 a\nnot indented\nmore", "2024-01-02 b"]


def test_continue_pattern() -> None:
    cfg = MultilineConfig(continue_pattern=r"\+\+")
    assert [t for t, _, _ in join(["a", "++b", "c"], cfg)] == ["a\n++b", "c"]


def test_max_lines_and_max_bytes_cut_runaway_events() -> None:
    lines = ["head"] + ["  cont"] * 10
    out = join(lines, MultilineConfig(max_lines=4))
    assert [t.count("\n") + 1 for t, _, _ in out] == [4, 4, 3]
    out = join(["head"] + ["  " + "x" * 50] * 4, MultilineConfig(max_bytes=120))
    assert all(len(t) <= 120 for t, _, _ in out) and len(out) > 1
    # nothing lost: offsets tile the input
    assert out[0][1] == 0 and all(a[2] == b[1] for a, b in itertools.pairwise(out))


def test_flush_timeout_releases_pending_event() -> None:
    j = MultilineJoiner(MultilineConfig(flush_timeout_s=0.5))
    out: list[Joined] = []
    j.feed("lonely line", 0, 12, 10.0, out)
    j.flush_due(10.4, out)
    assert out == [] and j.deadline == 10.5 and j.pending_start == 0
    j.flush_due(10.5, out)
    assert out == [("lonely line", 0, 12)] and j.deadline is None
