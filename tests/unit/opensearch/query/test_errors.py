"""Errors carry a 1-based column, what was expected, and a readable message (HTTP 400 body)."""

from __future__ import annotations

import pytest

from opensearch.query import QuerySettings, QuerySyntaxError, compile_query


@pytest.mark.parametrize(
    ("text", "position", "expected", "message"),
    [
        ("status_code IN (500, )", 22, "a value", "unexpected ')' at column 22; expected a value"),
        ("level = )", 9, "a value", "unexpected ')' at column 9; expected a value"),
        ("level:ERROR AND (a OR", 22, "a search term", "unexpected end of query at column 22"),
        ("(a OR b", 8, None, "unexpected end of query at column 8"),
        ("a )", 3, None, "unexpected ')' at column 3"),
        ("level:ERROR AND", 16, "a search term", "unexpected end of query at column 16"),
        ('error "unclosed phrase', 7, 'a closing "', "unterminated quoted phrase at column 7"),
        ("status_code IN (500 502)", 21, None, "unexpected '502' at column 21"),
        ("level:", 7, "a value", "unexpected end of query at column 7; expected a value"),
    ],
)
def test_syntax_error_positions(q, text, position, expected, message):
    with pytest.raises(QuerySyntaxError) as info:
        q(text)
    err = info.value
    assert err.position == position
    if expected is not None:
        assert err.expected == expected
    assert message in str(err)
    assert err.to_dict()["position"] == position


def test_missing_paren_expects_paren(q):
    with pytest.raises(QuerySyntaxError) as info:
        q("(a OR b")
    assert "')'" in info.value.expected


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("_index:logs-other-tenant", 1, "field '_index' cannot be queried"),
        ("a AND _id:1", 7, "cannot be queried"),
        ("_routing EXISTS", 1, "cannot be queried"),
        ("mess*:foo", 1, "cannot be queried"),
        ("response_time > abc", 17, "is not a number"),
        ("status IN (500, abc)", 17, "is not a number"),
        ("level > LOUD", 9, "unknown level"),
        ("message > 5", 1, "text field"),
        ("source > abc", 10, "allow_expensive_queries"),
        ("*data*", 1, "not supported on text"),
        ("web-a*", 1, "not a single word"),
        ("abcdefghijklmnopqrstu*", 1, "longer than 19"),
        ("trace_id:ab*", 1, "no prefix/reversed index"),
        ('source LIKE "w_b%"', 1, "wildcard query"),
        ('message LIKE "a%b"', 1, "on text fields LIKE supports"),
        ('status_code LIKE "5%"', 1, "LIKE needs a string field"),
        ("ip:not-an-ip", 4, "not an IP address"),
        ("error OR last 15 minutes", 10, "cannot be an OR alternative"),
        ("NOT (a today)", 8, "cannot be negated"),
        ("NOT today", 5, "cannot be negated"),
        ('timestamp > "next tuesday"', 13, "cannot read"),
    ],
)
def test_semantic_errors_point_at_the_problem(q, text, position, fragment):
    with pytest.raises(QuerySyntaxError) as info:
        q(text)
    assert info.value.position == position, str(info.value)
    assert fragment in str(info.value)


def test_too_many_in_values(q):
    s = QuerySettings(max_in_values=3)
    with pytest.raises(QuerySyntaxError, match="too many values"):
        q("status IN (1, 2, 3, 4)", settings=s)


def test_too_many_clauses(q):
    s = QuerySettings(max_clauses=4)
    with pytest.raises(QuerySyntaxError, match="clauses"):
        q("a b c d e", settings=s)  # each word searches two fields: 10 clauses


def test_query_length_cap(q):
    s = QuerySettings(max_query_length=10)
    with pytest.raises(QuerySyntaxError, match="longer than 10"):
        q("a" * 11, settings=s)


def test_calendar_without_range_fails_at_compile(q):
    query = q("level:ERROR weekdays")
    with pytest.raises(QuerySyntaxError) as info:
        compile_query(query)
    assert info.value.position == 13 and "time range" in str(info.value)


def test_calendar_range_is_capped(q):
    s = QuerySettings(max_calendar_days=10)
    query = q("weekdays last 30 days", settings=s)
    with pytest.raises(QuerySyntaxError, match="more than 10 days"):
        compile_query(query, settings=s)


def test_error_is_a_value_error(q):
    with pytest.raises(ValueError):
        q("(")
