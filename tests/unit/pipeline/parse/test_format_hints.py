"""Format hints by family name: every built-in family (and "_" spelling, and the documented
aliases) is a hint the gateway accepts and the parse step uses to pick that family's parser; an
unknown hint is refused naming the field and the allowed values."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from pipeline_testkit import make_event

from gateway.validate import KeyContext, ValidationLimits, parse_batch, validate_batch
from logharbor.envelope import FAMILY_HINTS, RAW_FORMATS
from pipeline.parse.detect import PARSERS
from pipeline.parse.library import load_library
from pipeline.parse.step import hint_family

LIBRARY = load_library()
KEY = KeyContext(key_id="abcdefgh2345", tenant="acme", source="web", environment="prod")
LIM = ValidationLimits(max_message_bytes=10_000, max_entry_bytes=20_000, max_events=50, future_skew_s=300)
NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def _validate(*entries: dict):
    body = b"\n".join(orjson.dumps(e) for e in entries)
    return validate_batch(parse_batch(body, "auto", LIM), KEY, idempotency_key=None, limits=LIM, now=NOW)


def test_every_builtin_family_is_a_hint() -> None:
    assert set(LIBRARY.families) == set(FAMILY_HINTS)


@pytest.mark.parametrize("hint", sorted(RAW_FORMATS))
def test_every_hint_names_a_parser(hint: str) -> None:
    name = hint_family(hint)
    assert name in LIBRARY.families or name in PARSERS or name in ("auto", "text"), hint


@pytest.mark.parametrize(
    ("hint", "family"),
    [("nginx_error", "nginx-error"), ("klog", "klog"), ("glog", "klog"), ("postgres", "postgresql"),
     ("mysql", "mysql-error"), ("mysql_slow", "mysql-slow"), ("dmesg", "kernel"), ("jul", "java-jul")],
)
def test_aliases(hint: str, family: str) -> None:
    assert hint_family(hint) == family


@pytest.mark.parametrize("family", sorted(FAMILY_HINTS))
def test_a_family_hint_forces_that_parser(default_chain, family: str) -> None:
    """The family's own example line, hinted by name (and by its "_" spelling), is parsed by it."""
    example = LIBRARY.families[family].examples[0]
    for hint in {family, family.replace("-", "_")}:
        result = default_chain.run([make_event(example, fmt=hint)])
        assert len(result.kept) == 1
        assert result.kept[0].format == family, (hint, result.kept[0].format)


def test_the_hint_wins_over_detection(default_chain) -> None:
    # a Go log line is also a valid generic line; the hint picks go-log, auto-detection may not
    line = "2009/11/10 23:00:00 server listening on :8080"
    assert default_chain.run([make_event(line, fmt="go_log")]).kept[0].format == "go-log"


def test_gateway_accepts_family_hints_and_names_the_allowed_ones() -> None:
    r = _validate({"raw": "I1203 10:00:00.123456 1 a.go:1] x", "format": "klog"},
                  {"raw": "x", "format": "nginx_error"}, {"raw": "x", "format": "postgresql-csv"},
                  {"raw": "x", "format": "cobol"})
    assert [e.format for e in r.envelopes] == ["klog", "nginx_error", "postgresql-csv"]
    assert [x["index"] for x in r.rejected] == [3]
    error = r.rejected[0]["errors"][0]
    assert error.startswith("format: 'cobol' is not one of ")
    for allowed in ("auto", "klog", "nginx-error", "nginx_error", "mysql-slow", "postgres"):
        assert allowed in error.split("is not one of ", 1)[1].split(", ")


def test_per_source_formats_take_the_same_names() -> None:
    from pipeline.parse.step import ParseConfig

    cfg = ParseConfig(formats={"nginx/*": "nginx_error", "k8s/*": "glog", "db/*": "postgres"})
    assert cfg.formats["nginx/*"] == "nginx_error"
    with pytest.raises(ValueError, match="unknown format 'cobol'"):
        ParseConfig(formats={"x": "cobol"})
