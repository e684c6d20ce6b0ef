"""Any input either parses or raises QuerySyntaxError with a position inside the text (+1)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from opensearch.query import QuerySettings, QuerySyntaxError, compile_query, matches, parse

PIECES = [*'abcAND OR NOT()":=<>!,-*%_.@0123456789', "level", "IN (", " LIKE ", " IS NULL", " EXISTS",
          "last 5m", "today"]
ALPHABET = st.sampled_from(PIECES)
S = QuerySettings()
NOW = datetime(2026, 1, 21, 12, tzinfo=UTC)


@settings(max_examples=600, deadline=None)
@given(st.lists(ALPHABET, max_size=25).map("".join))
def test_parse_never_crashes(text):
    try:
        query = parse(text, now=NOW, settings=S)
    except QuerySyntaxError as err:
        assert 1 <= err.position <= len(text) + 1
        assert f"at column {err.position}" in str(err)
        return
    try:
        compile_query(query, settings=S)
    except QuerySyntaxError as err:  # calendar clause without a range
        assert "time range" in str(err)
    matches(query, {"message": text, "log": {"level": "ERROR"}, "@timestamp": "2026-01-21T11:59:00Z"})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_unicode_never_crashes(text):
    try:
        parse(text, now=NOW, settings=S)
    except QuerySyntaxError as err:
        assert 1 <= err.position <= len(text) + 1
