"""Saved-query input validation (the store itself is exercised by the browser tests)."""

from __future__ import annotations

import pytest

from ui.web.saved import SavedQueryError, clean_description, clean_name, clean_query


def test_clean_query_normalises_lists_and_defaults() -> None:
    assert clean_query({"q": "x", "level": "ERROR,WARN", "bh": 1}) == {
        "q": "x", "range": "", "from": "", "to": "", "bh": True, "level": ["ERROR", "WARN"], "source": []}


@pytest.mark.parametrize("bad", [
    "q=x", {"q": 1}, {"level": [1]}, {"tenant": "other"}, {"q": "x" * 10_001}, {"source": {"a": 1}},
])
def test_clean_query_refuses_bad_shapes(bad: object) -> None:
    with pytest.raises(SavedQueryError):
        clean_query(bad)


def test_names_and_descriptions() -> None:
    assert clean_name("  errors ") == "errors"
    for bad in ("", "   ", None, "x" * 121):
        with pytest.raises(SavedQueryError):
            clean_name(bad)
    with pytest.raises(SavedQueryError):
        clean_description("x" * 2001)
