"""Grammar and binding: each syntax example from the spec parses to the intended AST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opensearch.query import QuerySettings
from opensearch.query.ast import (
    And,
    Exists,
    MatchAll,
    MatchNone,
    Not,
    Or,
    Pattern,
    Prefix,
    Range,
    Suffix,
    Term,
    TextMatch,
)
from opensearch.query.fields import FieldKind

FREE = ("message", "event.original")


def test_empty_query_is_match_all(q):
    assert isinstance(q("").ast, MatchAll)
    assert isinstance(q("   ").ast, MatchAll)
    assert q("").time_range is None


def test_free_text_word_searches_message_fields_only(q):
    node = q("database").ast
    assert isinstance(node, TextMatch)
    assert node.fields == FREE and node.mode == "phrase" and node.tokens == ("database",)


def test_phrase_keeps_word_order(q):
    node = q('"connection refused"').ast
    assert isinstance(node, TextMatch)
    assert node.mode == "phrase" and node.tokens == ("connection", "refused")


def test_phrase_escapes(q):
    node = q(r'"say \"hi\" now"').ast
    assert node.text == 'say "hi" now'


def test_implicit_and_between_terms(q):
    node = q("database timeout").ast
    assert isinstance(node, And) and [n.tokens for n in node.items] == [("database",), ("timeout",)]


@pytest.mark.parametrize("text", ["a AND b OR c", "a and b or c", "a And b oR c"])
def test_and_binds_tighter_than_or_and_keywords_are_case_insensitive(q, text):
    node = q(text).ast
    assert isinstance(node, Or)
    assert isinstance(node.items[0], And) and isinstance(node.items[1], TextMatch)


def test_not_and_minus_negate(q):
    for text in ("NOT debug", "not debug", "-debug"):
        node = q(text).ast
        assert isinstance(node, Not) and node.item.tokens == ("debug",)


def test_parentheses_group(q):
    node = q("(a OR b) AND c").ast
    assert isinstance(node, And) and isinstance(node.items[0], Or)


def test_nested_and_is_flattened(q):
    node = q("a (b c)").ast
    assert isinstance(node, And) and len(node.items) == 3


def test_common_words_that_look_like_keywords_are_free_text(q):
    # "in", "this", "last", "since", "like", "is" only act as keywords in their constructs
    node = q("error in this last since like is").ast
    assert isinstance(node, And)
    assert [n.tokens[0] for n in node.items] == ["error", "in", "this", "last", "since", "like", "is"]


def test_hyphenated_word_is_a_phrase_of_its_tokens(q):
    node = q("web-api").ast
    assert isinstance(node, TextMatch) and node.tokens == ("web", "api")


def test_punctuation_only_word_matches_nothing(q):
    assert isinstance(q("@@").ast, MatchNone)


def test_prefix_wildcard_on_free_text(q):
    node = q("data*").ast
    assert isinstance(node, TextMatch) and node.mode == "prefix" and node.tokens == ("data",)
    assert node.fields == FREE
    assert node.query_fields == ("message.prefixes", "event.original.prefixes")


def test_suffix_wildcard_uses_reversed_subfields(q):
    node = q("*BASE").ast
    assert node.mode == "suffix" and node.tokens == ("base",)
    assert node.query_fields == ("message.suffixes", "event.original.suffixes")


def test_lone_star_matches_all(q):
    assert isinstance(q("*").ast, MatchAll)


def test_level_colon_is_normalised(q):
    for text in ("level:ERROR", "level:error", "level:err", "severity:Error", 'level = "ERROR"'):
        node = q(text).ast
        assert node == Term("log.level", FieldKind.LEVEL, ("ERROR",), node.texts, node.pos), text


def test_level_unknown_value_is_kept_uppercased(q):
    assert q("level:custom").ast.values == ("CUSTOM",)


def test_level_ranges_use_severity_order(q):
    assert q("level >= warn").ast.values == ("WARN", "ERROR", "FATAL")
    assert q("level < WARN").ast.values == ("DEBUG", "INFO")
    assert isinstance(q("level > FATAL").ast, MatchNone)


def test_level_wildcard_expands_over_known_levels(q):
    assert q("level:E*").ast.values == ("ERROR",)
    assert q('level LIKE "%R%"').ast.values == ("WARN", "ERROR")
    assert q('level LIKE "_NFO"').ast.values == ("INFO",)


def test_short_field_names_map_to_ecs(q):
    node = q("source:web-api AND message:timeout").ast
    assert isinstance(node, And)
    assert node.items[0] == Term("service.name", FieldKind.KEYWORD, ("web-api",), ("web-api",), 1)
    assert isinstance(node.items[1], TextMatch) and node.items[1].fields == ("message",)
    assert q("host:db1").ast.field == "host.name"


def test_field_aliases_are_configurable(q):
    settings = QuerySettings(field_aliases={"svc": "service.name"})
    assert q("svc:api", settings=settings).ast.field == "service.name"


def test_unknown_fields_are_used_as_dotted_names(q):
    node = q("response.body.error.code = 1001").ast
    assert node == Term("fields.response.body.error.code", FieldKind.DYNAMIC, (1001,), ("1001",), 1)
    quoted = q('response.body.error.code = "1001"').ast
    assert quoted.values == ("1001",)


def test_numeric_comparisons(q):
    for op, name in ((">", "gt"), (">=", "gte"), ("<", "lt"), ("<=", "lte")):
        node = q(f"response_time {op} 1000").ast
        assert node == Range("logharbor.duration_ms", FieldKind.NUMBER, name, 1000, "1000", 1)
    assert q("response_time > -1.5").ast.value == -1.5


def test_not_equal_excludes_missing_fields(q):
    node = q("status != 200").ast
    assert isinstance(node, And)
    assert node.items[0] == Exists("http.response.status_code", 1)
    assert isinstance(node.items[1], Not)


def test_in_list(q):
    node = q("status_code IN (500, 502, 503, 504)").ast
    assert node == Term("http.response.status_code", FieldKind.NUMBER, (500, 502, 503, 504),
                        ("500", "502", "503", "504"), 1)
    assert q("status_code in (500,502)").ast.values == (500, 502)


def test_not_in_list(q):
    node = q("source NOT IN (a, b)").ast
    assert isinstance(node, And) and isinstance(node.items[1], Not)
    assert node.items[1].item.values == ("a", "b")


def test_like_contains_on_text_is_a_phrase(q):
    node = q('message LIKE "%timeout%"').ast
    assert isinstance(node, TextMatch) and node.mode == "phrase" and node.fields == ("message",)


def test_like_suffix_on_keyword_uses_reversed_subfield(q):
    assert q('user_email LIKE "%@gmail.com"').ast == Suffix("user.email", "@gmail.com", "user.email.suffixes", 1)


def test_like_prefix_and_exact_on_keyword(q):
    assert q('source LIKE "web%"').ast == Prefix("service.name", "web", "service.name.prefixes", 1)
    assert q('source LIKE "web"').ast.values == ("web",)
    assert q(r'source LIKE "100\%"').ast.values == ("100%",)


def test_keyword_wildcards_with_colon(q):
    assert q("source:web*").ast == Prefix("service.name", "web", "service.name.prefixes", 1)
    assert q("host:*-01").ast == Suffix("host.name", "-01", "host.name.suffixes", 1)
    assert q("host:*").ast == Exists("host.name", 1)
    # `=` and quotes are exact: the star is literal
    assert q("host = web*").ast.values == ("web*",)
    assert q('host:"web*"').ast.values == ("web*",)


def test_null_checks(q):
    assert q("error_message IS NOT NULL").ast == Exists("error.message", 1)
    assert q("error_message is null").ast == Not(Exists("error.message", 1), 1)
    assert q("user_id EXISTS").ast == Exists("user.id", 1)
    assert q("request.headers.authorization EXISTS").ast == Exists("fields.request.headers.authorization", 1)


def test_ip_fields(q):
    assert q("ip:10.0.0.0/8").ast.values == ("10.0.0.0/8",)
    assert q("ip = 10.1.2.3").ast.values == ("10.1.2.3",)


def test_timestamp_comparison_is_a_date_range(q):
    node = q('timestamp >= "2026-01-19 09:00"').ast
    expected_ms = int(datetime(2026, 1, 19, 9, 0, tzinfo=UTC).timestamp() * 1000)
    assert node == Range("@timestamp", FieldKind.DATE, "gte", expected_ms, "2026-01-19 09:00", 1)


def test_timestamp_equals_date_is_that_day(q):
    node = q("timestamp:2026-01-19").ast
    assert isinstance(node, And)
    lo, hi = node.items
    assert (lo.op, hi.op) == ("gte", "lt") and hi.value - lo.value == 86_400_000


def test_bare_time_clause_becomes_time_range(q, now):
    query = q("level:ERROR last 15 minutes")
    assert query.ast.field == "log.level"
    assert query.time_range == (datetime(2026, 1, 21, 11, 45, tzinfo=UTC), None)


def test_several_time_clauses_intersect(q):
    query = q("this week today")
    assert query.time_range == (datetime(2026, 1, 21, tzinfo=UTC), datetime(2026, 1, 22, tzinfo=UTC))


def test_calendar_clauses(q):
    query = q("today during business hours")
    assert query.calendar.hours == (9 * 60, 17 * 60) and query.calendar.days is None
    assert q("weekdays only last 7 days").calendar.days == frozenset(range(5))
    assert q("weekdays").calendar.days == frozenset(range(5))
    both = q("weekdays business hours last 7 days").calendar
    assert both.days == frozenset(range(5)) and both.hours == (540, 1020)


def test_business_hours_come_from_settings(q):
    s = QuerySettings(business_hours_start="08:30", business_hours_end="18:00", timezone="Europe/Berlin")
    cal = q("during business hours today", settings=s).calendar
    assert cal.hours == (510, 1080) and cal.zone == "Europe/Berlin"


def test_absolute_date_clauses(q):
    assert q("2026-01-19").time_range == (datetime(2026, 1, 19, tzinfo=UTC), datetime(2026, 1, 20, tzinfo=UTC))
    assert q("2026-01-19 to 2026-01-20").time_range == (datetime(2026, 1, 19, tzinfo=UTC),
                                                         datetime(2026, 1, 21, tzinfo=UTC))
    assert q("since 2026-01-19 10:00").time_range == (datetime(2026, 1, 19, 10, tzinfo=UTC), None)


def test_only_time_clauses_match_all_in_range(q):
    query = q("yesterday")
    assert isinstance(query.ast, MatchAll)
    assert query.time_range == (datetime(2026, 1, 20, tzinfo=UTC), datetime(2026, 1, 21, tzinfo=UTC))


def test_within_adds_caller_range(q):
    query = q("error last 24 hours").within(datetime(2026, 1, 21, 6, tzinfo=UTC), None)
    assert query.time_range == (datetime(2026, 1, 21, 6, tzinfo=UTC), None)


def test_expensive_patterns_allowed_only_when_configured(q):
    s = QuerySettings(allow_expensive_queries=True)
    assert q('source LIKE "w_b%"', settings=s).ast == Pattern("service.name", "w?b*", 1)
    assert q("env:pr*d", settings=s).ast == Pattern("labels.environment", "pr*d", 1)
    assert q("trace_id:ab*", settings=s).ast == Prefix("trace.id", "ab", "trace.id", 1)


def test_time_clauses_apply_to_the_whole_query_wherever_written(q):
    query = q("level:ERROR OR level:WARN last 15 minutes")
    assert isinstance(query.ast, Or) and query.time_range[0] == datetime(2026, 1, 21, 11, 45, tzinfo=UTC)
    nested = q("(source:a today) OR source:b")
    assert isinstance(nested.ast, Or) and nested.time_range[0] == datetime(2026, 1, 21, tzinfo=UTC)


def test_field_with_alternatives(q):
    node = q("level:(error OR Warn)").ast
    assert isinstance(node, Or) and [n.values for n in node.items] == [("ERROR",), ("WARN",)]
    mixed = q("source:(web* OR auth)").ast
    assert isinstance(mixed.items[0], Prefix) and mixed.items[1].values == ("auth",)


def test_bang_inside_words_but_not_before_equals(q):
    assert q("failed!").ast.text == "failed!"
    node = q("status!=200").ast
    assert isinstance(node, And) and isinstance(node.items[1], Not)
