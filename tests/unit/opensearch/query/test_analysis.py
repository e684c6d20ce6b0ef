"""The in-memory tokenizer reproduces the standard analyzer on log-like text.

Expected tokens were taken from OpenSearch 3.4 ``_analyze`` with ``"analyzer": "standard"``.
"""

from __future__ import annotations

import pytest

from opensearch.query.analysis import is_single_token, tokenize


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Connection to db.example.com:5432 refused (user_id=42)",
         ["connection", "to", "db.example.com", "5432", "refused", "user_id", "42"]),
        ("foo:bar don't 192.168.1.1 1,000 a.1 __init__ x_y v1.2.3 web-api error,retry",
         ["foo:bar", "don't", "192.168.1.1", "1,000", "a", "1", "__init__", "x_y", "v1.2.3", "web", "api",
          "error", "retry"]),
        ("ERROR: timeout 10.5s at 12:30:45", ["error", "timeout", "10.5s", "at", "12", "30", "45"]),
        ("GET /api/v1/items?id=7 -> 200", ["get", "api", "v1", "items", "id", "7", "200"]),
        ("a..b __ -- ___x", ["a", "b", "___x"]),
        ("", []),
    ],
)
def test_tokens_match_opensearch_standard(text, tokens):
    assert tokenize(text) == tokens


def test_single_token_check():
    assert is_single_token("Data")
    assert is_single_token("db.example.com")
    assert not is_single_token("web-api")
    assert not is_single_token("data.")
    assert not is_single_token("")


def test_long_line_is_linear():
    import time

    line = ("a." * 50_000) + "!"
    start = time.perf_counter()
    tokenize(line)
    assert time.perf_counter() - start < 0.5
