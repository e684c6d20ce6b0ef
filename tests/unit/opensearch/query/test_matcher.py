"""The in-memory matcher: every example selects the right events (and rejects the wrong ones)."""

from __future__ import annotations

import pytest

from opensearch.query import QuerySettings, compile_matcher, matches
from opensearch.query.matcher import field_getter


def ev(message: str = "", level: str = "INFO", service: str = "web-api", ts: str = "2026-01-21T11:50:00Z",
       **extra) -> dict:
    doc = {"@timestamp": ts, "message": message, "log": {"level": level}, "service": {"name": service},
           "host": {"name": "web-01"}}
    doc.update(extra)
    return doc


CASES = [
    # (query, matching event, non-matching event)
    ("database", ev("Database connection lost"), ev("databases are fine")),
    ("database", ev(event={"original": "raw database line"}), ev("nothing", service="database")),
    ('"connection refused"', ev("error: connection refused by peer"), ev("refused connection")),
    ("database AND timeout", ev("database timeout"), ev("database ok")),
    ("database timeout", ev("timeout in database"), ev("timeout")),
    ("database OR timeout", ev("timeout"), ev("other")),
    ("NOT debug", ev("real message"), ev("debug message")),
    ("-debug error", ev("error here"), ev("debug error")),
    ("(a OR b) AND c", ev("b c"), ev("a b")),
    ("data*", ev("datastore down"), ev("metadata only")),
    ("*base", ev("the database"), ev("basement")),
    ("web-api", ev("call to web-api failed"), ev("api web")),
    ("level:ERROR", ev(level="ERROR"), ev(level="WARN")),
    ("level:error", ev(level="ERROR"), ev(level="error")),  # stored levels are canonical uppercase
    ('level = "ERROR"', ev(level="ERROR"), ev(level="INFO")),
    ("level >= WARN", ev(level="FATAL"), ev(level="INFO")),
    ("source:web-api AND message:timeout", ev("timeout!", service="web-api"), ev("timeout", service="web")),
    ("source:web*", ev(service="web-api"), ev(service="api-web")),
    ("host:*-01", ev(), ev(host={"name": "web-02"})),
    ("source:Web-api", ev(service="Web-api"), ev(service="web-api")),  # keywords are case-sensitive
    ("response_time > 1000", ev(logharbor={"duration_ms": 1500}), ev(logharbor={"duration_ms": 1000})),
    ("response_time >= 1000", ev(logharbor={"duration_ms": 1000}), ev(logharbor={"duration_ms": 999.9})),
    ("response_time < 1000", ev(logharbor={"duration_ms": "20"}), ev(logharbor={"duration_ms": 1000})),
    ("response_time <= 1000", ev(logharbor={"duration_ms": 1000}), ev()),
    ("status_code != 200", ev(http={"response": {"status_code": 500}}), ev()),
    ("status_code IN (500, 502, 503, 504)", ev(http={"response": {"status_code": 503}}),
     ev(http={"response": {"status_code": 501}})),
    ("status NOT IN (200, 204)", ev(http={"response": {"status_code": 500}}),
     ev(http={"response": {"status_code": 204}})),
    ('message LIKE "%timeout%"', ev("read timeout after 5s"), ev("readtimeout")),
    ('message LIKE "time%"', ev("timeouts"), ev("overtime")),
    ('user_email LIKE "%@gmail.com"', ev(user={"email": "a@gmail.com"}), ev(user={"email": "a@gmail.co"})),
    ('user_email NOT LIKE "%@gmail.com"', ev(user={"email": "a@corp.com"}), ev(user={"email": "a@gmail.com"})),
    ("error_message IS NOT NULL", ev(error={"message": "boom"}), ev(error={"message": None})),
    ("error_message IS NULL", ev(), ev(error={"message": "boom"})),
    ("user_id EXISTS", ev(user={"id": 0}), ev(user={"id": None})),
    ("request.headers.authorization EXISTS", ev(fields={"request": {"headers": {"authorization": "Bearer x"}}}),
     ev(fields={"request": {"headers": {}}})),
    ("request.headers EXISTS", ev(fields={"request": {"headers": {"a": "b"}}}),
     ev(fields={"request": {"headers": {"a": None}}})),
    ("response.body.error.code = 1001", ev(fields={"response": {"body": {"error": {"code": 1001}}}}),
     ev(fields={"response": {"body": {"error": {"code": 1002}}}})),
    ("response.body.error.code = 1001", ev(fields={"response": {"body": {"error": {"code": "1001"}}}}),
     ev(fields={"response": {"body": {"error": {"code": "01001"}}}})),
    ("feature.enabled:true", ev(fields={"feature": {"enabled": True}}), ev(fields={"feature": {"enabled": False}})),
    ("ip:10.0.0.0/8", ev(client={"ip": "10.2.3.4"}), ev(client={"ip": "11.0.0.1"})),
    ("ip > 10.0.0.5", ev(client={"ip": "10.0.0.6"}), ev(client={"ip": "10.0.0.5"})),
    ("timestamp >= \"2026-01-21 11:00\"", ev(ts="2026-01-21T11:00:00Z"), ev(ts="2026-01-21T10:59:59.999Z")),
    ("timestamp:2026-01-21", ev(ts="2026-01-21T23:59:59Z"), ev(ts="2026-01-22T00:00:00Z")),
    ("level:ERROR last 15 minutes", ev(level="ERROR"), ev(level="ERROR", ts="2026-01-21T11:44:59Z")),
    ("today", ev(ts="2026-01-21T00:00:00Z"), ev(ts="2026-01-20T23:59:59Z")),
    ("yesterday", ev(ts="2026-01-20T12:00:00Z"), ev()),
    ("today during business hours", ev(ts="2026-01-21T09:00:00Z"), ev(ts="2026-01-21T17:00:00Z")),
    ("weekdays only last 7 days", ev(ts="2026-01-16T23:00:00Z"), ev(ts="2026-01-17T10:00:00Z")),
    ("2026-01-19 to 2026-01-20", ev(ts="2026-01-20T23:00:00Z"), ev()),
    ("level:(ERROR OR WARN)", ev(level="WARN"), ev(level="INFO")),
    ("42", ev(message=42), ev(message=421)),  # numbers in a text field are searched as their text
    ("*", ev(), None),
    ("", ev(), None),
]


@pytest.mark.parametrize(("text", "yes", "no"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_examples(q, text, yes, no):
    query = q(text)
    assert matches(query, yes)
    if no is not None:
        assert not matches(query, no)


def test_flattened_and_mixed_keys(q):
    query = q("level:ERROR source:web-api request.headers.authorization EXISTS")
    assert matches(query, {"log.level": "ERROR", "service.name": "web-api",
                           "fields.request.headers.authorization": "x"})
    assert matches(query, {"log": {"level": "ERROR"}, "service.name": "web-api",
                           "fields": {"request": {"headers.authorization": "x"}}})
    assert not matches(query, {"log.level": "ERROR", "service.name": "web-api"})


def test_arrays_match_any_element(q):
    assert matches(q("tags:prod"), {"tags": ["dev", "prod"]})
    assert matches(q("items.sku = 7"), {"fields": {"items": [{"sku": 5}, {"sku": 7}]}})
    assert not matches(q("tags:prod"), {"tags": []})


def test_phrase_does_not_span_array_values(q):
    assert not matches(q('"a b"'), {"message": ["x a", "b y"]})
    assert matches(q('"a b"'), {"message": ["x a b", "y"]})


def test_missing_timestamp_fails_time_filter(q):
    assert not matches(q("last 15 minutes"), {"message": "x"})
    assert matches(q("last 15 minutes"), {"message": "x", "@timestamp": 1769000000000})


def test_expensive_patterns(q):
    s = QuerySettings(allow_expensive_queries=True)
    query = q('source LIKE "w_b%"', settings=s)
    assert matches(query, ev(service="web-api"))
    assert not matches(query, ev(service="wb"))
    assert matches(q("env:pr*d", settings=s), ev(labels={"environment": "pre-prod"}))
    assert matches(q(r'source LIKE "a\%b"', settings=s), ev(service="a%b"))


def test_field_getter_handles_all_shapes():
    get = field_getter("a.b.c")
    assert get({"a": {"b": {"c": 1}}}) == [1]
    assert get({"a.b.c": 1}) == [1]
    assert get({"a": {"b.c": 1}, "a.b": {"c": 2}}) == [1, 2]
    assert get({"a": [{"b": {"c": [1, None, 2]}}]}) == [1, 2]
    assert get({"a": "scalar"}) == []
    below = field_getter("a", with_subpaths=True)
    assert below({"a.b": 1, "ab": 2}) == [1]
    assert field_getter("a.b", with_subpaths=True)({"a": {"b.c": {"d": 3}}}) == [{"d": 3}]


def test_exists_on_object_path_sees_dotted_children(q):
    assert matches(q("request EXISTS"), {"fields.request.headers": {"authorization": "x"}})
    assert not matches(q("request EXISTS"), {"fields.request.headers": {"authorization": None}})
    assert not matches(q("request EXISTS"), {"fields.requests": 1})


def test_matcher_is_compiled_once_and_fast(q):
    query = q('level:ERROR source:web* "connection refused" OR status_code IN (500, 503) last 15 minutes')
    fn = compile_matcher(query)
    doc = ev("upstream connection refused while reading", level="ERROR")
    assert fn(doc)
    matches(query, doc)
    assert query._cache["matcher"] is not None
    # Speed is measured in ops/bench (never in a timed unit test): here only that the compiled
    # matcher is reused rather than rebuilt per event.
    cached = query._cache["matcher"]
    assert matches(query, doc) and query._cache["matcher"] is cached
