"""URL state → API parameters, query edits and dashboard panels, checked with the API's own parsers."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from multidict import MultiDict

from opensearch.query import parse
from ui.params import parse_aggregate, parse_filters, parse_search
from ui.settings import UISettings
from ui.web.views import (
    SearchState,
    add_clause,
    analytics_panels,
    mark_position,
    overview_panels,
    quote_value,
    sort_link,
    state_from_saved,
)

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def test_state_reads_repeated_and_comma_parameters() -> None:
    q = MultiDict([("q", "timeout"), ("level", "error"), ("level", "WARN,fatal"), ("source", "api"),
                   ("range", "1h"), ("offset", "50"), ("from", "ignored-unless-custom")])
    s = SearchState.from_query(q)
    assert s.levels == ["ERROR", "WARN", "FATAL"] and s.sources == ["api"] and s.offset == 50
    assert s.start == ""  # a preset range wins over stray from/to
    assert s.filter_params() == {"q": "timeout", "from": "now-1h", "level": "ERROR,WARN,FATAL", "source": "api"}
    f = parse_filters(s.filter_params(), NOW)  # the API accepts exactly what the page sends
    assert f.levels == ["ERROR", "WARN", "FATAL"] and f.start is not None


def test_custom_range_and_business_hours_reach_the_query_engine() -> None:
    s = SearchState.from_query({"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z", "bh": "1",
                                "q": "a OR b"})
    assert s.range == "custom"
    assert s.effective_q() == "(a OR b) during business hours"
    f = parse_filters(s.filter_params(), NOW)
    assert f.start == datetime(2026, 3, 1, tzinfo=UTC) and f.end == datetime(2026, 3, 2, tzinfo=UTC)
    assert f.query.calendar is not None
    assert SearchState.from_query({"bh": "1"}).effective_q() == "during business hours"


def test_url_round_trip_and_paging_reset() -> None:
    s = SearchState.from_query(MultiDict([("q", 'x "y"'), ("level", "ERROR"), ("source", "a b"), ("range", "7d"),
                                          ("sort", "log.level:asc"), ("offset", "100")]))
    again = SearchState.from_query(MultiDict(parse_qsl(urlsplit(s.url(offset=100)).query)))
    assert again == s
    assert "offset" not in s.url(q="other")  # any change goes back to the first page
    assert SearchState().url() == "/search"
    params = s.search_params(50)
    parse_search(params, UISettings(), NOW)


def test_add_clause_quotes_and_keeps_or_semantics() -> None:
    assert add_clause("", "service.name", "api") == "service.name:api"
    assert add_clause("a OR b", "log.level", "ERROR") == "(a OR b) AND log.level:ERROR"
    assert add_clause("x", "host.name", "h 1", negate=True) == 'x AND NOT host.name:"h 1"'
    assert add_clause("x AND service.name:api", "service.name", "api") == "x AND service.name:api"
    tricky = 'say "hi" \\ <script>alert(1)</script>'
    q = add_clause("", "message.keyword", tricky)
    term = parse(q, now=NOW).ast
    assert term.values == (tricky,)  # the value survives quoting exactly, whatever it contains
    assert quote_value("OR") == '"OR"' and quote_value(500) == "500"


def test_sort_link_toggles_direction() -> None:
    s = SearchState()
    link, current = sort_link(s, "timestamp")
    assert current == "desc" and "sort=%40timestamp%3Aasc" in link
    link, current = sort_link(s, "level")
    assert current == "" and "sort=log.level%3Adesc" in link


@pytest.mark.parametrize(("text", "pos", "want"), [
    ("level:ERROR AND (x", 19, ("level:ERROR AND (x", " ", "")),
    ("a b c", 3, ("a ", "b", " c")),
    ("abc", None, None),
    ("abc", 0, None),
])
def test_mark_position(text: str, pos: int | None, want: tuple[str, str, str] | None) -> None:
    assert mark_position(text, pos) == want


def test_saved_form_round_trip() -> None:
    s = SearchState.from_query(MultiDict([("q", "x"), ("level", "ERROR"), ("range", "7d"), ("bh", "1")]))
    assert state_from_saved(s.saved_form()) == s


def test_every_dashboard_panel_is_a_valid_api_call_and_links_to_its_search() -> None:
    panels = overview_panels() + [p for tab in analytics_panels("7d").values() for p in tab]
    assert len({p.id for p in panels}) == len(panels)
    settings = UISettings()
    for p in panels:
        path, _, query = p.api.partition("?")
        params = dict(parse_qsl(query))
        if path == "/api/v1/logs/aggregate":
            parse_aggregate(params, settings, NOW)
        elif path == "/api/v1/logs/search":
            parse_search(params, settings, NOW)
        else:
            assert path in ("/api/v1/metrics", "/api/v1/status"), p
        link_path, _, link_query = p.search.partition("?")
        if link_path == "/search":
            s = SearchState.from_query(MultiDict(parse_qsl(link_query)))
            parse_filters(s.filter_params(), NOW)


def test_table_message_is_one_line() -> None:
    from ui.web.search import table_message

    assert table_message("boom\n\tat X.y(X.java:1)") == "boom…"
    assert table_message("x" * 500) == "x" * 400 + "…"
    assert table_message(None) == "" and table_message(42) == "42"
