"""Differential test: a query selects the same events in OpenSearch (dsl.py) and in memory (matcher.py).

A seeded random corpus of a few hundred log events is indexed into a real OpenSearch with the
mapping the query engine requires (opensearch/query/mapping_requirements.json: message as
text with positions and edge-gram .prefixes/.suffixes subfields, keyword fields likewise, numbers, dates).
Hypothesis then generates queries from the whole syntax; for each one the ids OpenSearch returns
must equal the ids :func:`matches` accepts. Events are written in both nested and dotted shapes
and with three timestamp formats, so the matcher's field access and date parsing are checked too.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opensearch.query import QuerySettings, compile_query, matches, parse
from opensearch.query.analysis import is_single_token, tokenize
from opensearch.query.mapping import required_index_body

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 21, 12, 0, tzinfo=UTC)  # a Wednesday
SETTINGS = QuerySettings(timezone="UTC")
CORPUS_SIZE = 400

WORDS = [
    "database", "Database", "DATABASE", "databases", "timeout", "timeouts", "connection", "refused",
    "data", "datastore", "metadata", "base", "user", "login", "failed", "error", "retry", "web-api",
    "db.example.com", "192.168.1.10", "user_id=42", "GET", "/api/v1/items", "abc123", "x_y", "don't",
    "foo:bar", "1,000", "10.5s", "v1.2.3", "cache", "miss", "ok", "slow", "query", "readtimeout",
    "connection refused", "Connection Refused by peer", "read timeout", "database timeout",
]
SEPARATORS = [" ", " ", " ", ", ", " - ", ": ", "/", " | ", "; "]
LEVELS = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
SERVICES = ["web-api", "web-ui", "auth", "billing-worker", "Web-API"]
HOSTS = ["web-01", "web-02", "db-01", "cache-01"]
STATUSES = [200, 201, 204, 301, 400, 404, 500, 502, 503, 504]
EMAILS = ["a@gmail.com", "b@corp.com", "c@gmail.co", "d@GMAIL.com", "gmail.com@x.org"]
TAGS = ["prod", "dev", "canary"]


def _timestamp(rng: random.Random) -> object:
    # a quarter of the events in the last half hour, so "last 15 minutes" selects something
    spread = 1800 if rng.random() < 0.25 else 10 * 86400
    when = NOW - timedelta(seconds=rng.randint(-600, spread), milliseconds=rng.randint(0, 999))
    style = rng.random()
    if style < 0.6:
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if style < 0.8:
        return when.astimezone(timezone(timedelta(hours=2))).isoformat(timespec="milliseconds")
    return int(when.timestamp() * 1000)


def _event(rng: random.Random) -> dict:
    n = rng.randint(1, 9)
    message = "".join(rng.choice(WORDS) + rng.choice(SEPARATORS) for _ in range(n)).strip(" ,-:/|;")
    doc: dict = {
        "@timestamp": _timestamp(rng),
        "message": message or "empty",
        "log": {"level": rng.choice(LEVELS)},
        "service": {"name": rng.choice(SERVICES)},
        "host": {"name": rng.choice(HOSTS)},
    }
    if rng.random() < 0.03:
        doc["message"] = rng.choice([42, 1000, 10.5])  # a number in a text field is searched as its text
    if rng.random() < 0.7:
        doc["http"] = {"response": {"status_code": rng.choice(STATUSES)}}
    if rng.random() < 0.7:
        doc["logharbor"] = {"duration_ms": round(rng.uniform(0, 3000), 1)}  # where the pipeline stores it
    if rng.random() < 0.15:
        doc.setdefault("event", {})["original"] = " ".join(rng.choice(WORDS) for _ in range(4))
    if rng.random() < 0.5:
        doc["user"] = {"email": rng.choice(EMAILS)}
        if rng.random() < 0.5:
            doc["user"]["id"] = str(rng.randint(1, 50))
    if rng.random() < 0.3:
        doc["error"] = {"message": rng.choice(["boom", "disk full", "timeout"])}  # error_message, as stored
    if rng.random() < 0.3:
        auth = "Bearer " + uuid.UUID(int=rng.getrandbits(128)).hex[:8]
        doc.setdefault("fields", {})["request"] = {"headers": {"authorization": auth}}  # names outside ECS
    if rng.random() < 0.3:
        doc.setdefault("fields", {})["response"] = {"body": {"error": {"code": rng.choice([1001, 1002, 2001])}}}
    if rng.random() < 0.4:
        doc["tags"] = rng.sample(TAGS, rng.randint(1, 2))
    if rng.random() < 0.3:
        doc = _flatten_some(doc, rng)
    return doc


def _flatten_some(doc: dict, rng: random.Random) -> dict:
    """Rewrite some nested objects as dotted keys (OpenSearch indexes both shapes the same way)."""
    out: dict = {}
    for key, value in doc.items():
        if isinstance(value, dict) and rng.random() < 0.7:
            for sub, inner in value.items():
                out[f"{key}.{sub}"] = inner
        else:
            out[key] = value
    return out


CORPUS: dict[str, dict] = {}
_rng = random.Random(20260121)
for _i in range(CORPUS_SIZE):
    CORPUS[f"e{_i:04d}"] = _event(_rng)


@pytest.fixture(scope="module")
def corpus_index(os_client) -> Iterator[str]:
    index = f"logharbor-query-diff-{uuid.uuid4().hex[:8]}"
    os_client.indices.create(index=index, body=required_index_body())
    try:
        lines: list[dict] = []
        for doc_id, doc in CORPUS.items():
            lines.append({"index": {"_index": index, "_id": doc_id}})
            lines.append(doc)
        resp = os_client.bulk(body=lines, refresh="wait_for")
        assert not resp["errors"], [i for i in resp["items"] if "error" in i["index"]][:3]
        yield index
    finally:
        os_client.indices.delete(index=index, ignore_unavailable=True)


def _opensearch_ids(os_client, index: str, dsl: dict) -> set[str]:
    resp = os_client.search(index=index, body={"query": dsl, "size": CORPUS_SIZE + 10, "_source": False,
                                               "track_total_hits": True})
    assert resp["hits"]["total"]["value"] <= CORPUS_SIZE
    return {h["_id"] for h in resp["hits"]["hits"]}


def _check(os_client, index: str, text: str) -> tuple[set[str], set[str]]:
    query = parse(text, now=NOW, settings=SETTINGS)
    dsl = compile_query(query, settings=SETTINGS)
    remote = _opensearch_ids(os_client, index, dsl)
    local = {doc_id for doc_id, doc in CORPUS.items() if matches(query, doc)}
    if remote != local:
        diff = sorted(remote ^ local)[:5]
        details = "\n".join(f"  {d} in_opensearch={d in remote}: {CORPUS[d]}" for d in diff)
        pytest.fail(f"query {text!r} disagrees on {len(remote ^ local)} events\nDSL: {dsl}\n{details}")
    return remote, local


# ---------------------------------------------------------------------------------------------
# the documented examples, each must agree and must select something non-trivial

EXAMPLES = [
    "database", '"connection refused"', "database AND timeout", "database OR timeout", "NOT database",
    "-database error", "(data OR base) AND NOT timeout", "data*", "*base", "time*", "*out", "web-api",
    "db.example.com", '"foo:bar"', '"1,000"', "level:ERROR", "level:error", 'level = "ERROR"', "level >= WARN",
    "level:(error OR warn)", "source:(web* OR auth)",
    "source:web-api AND message:timeout", "source:web*", "source:Web*", "host:*-01", "response_time > 1000",
    "response_time >= 1500.5", "response_time < 100", "response_time <= 2000", "status_code != 500",
    "status_code IN (500, 502, 503, 504)", "status NOT IN (200, 201)", 'message LIKE "%timeout%"',
    'user_email LIKE "%@gmail.com"', 'user_email LIKE "gmail%"', "error_message IS NOT NULL",
    "error_message IS NULL", "user_id EXISTS", "request.headers.authorization EXISTS", "request EXISTS",
    "response.body.error.code = 1001", "response.body.error.code IN (1001, 2001)",
    "response.body.error.code > 1001", "tags:prod", "42", "10.5", "level:ERROR last 15 minutes", "last 24 hours",
    "last 7 days", "today", "yesterday", "this week", "2026-01-19", "2026-01-19 to 2026-01-20",
    "today during business hours", "weekdays only last 7 days", "weekends last 10 days",
    "level:ERROR weekdays during business hours this week", 'timestamp >= "2026-01-19 09:00"',
    "timestamp < 2026-01-15", "timestamp:2026-01-20", "",
]


@pytest.mark.parametrize("text", EXAMPLES)
def test_examples_agree(os_client, corpus_index, text):
    remote, _ = _check(os_client, corpus_index, text)
    if text:
        assert 0 < len(remote) < CORPUS_SIZE, f"{text!r} selects {len(remote)} events: not a useful check"


ZONED_EXAMPLES = ["today", "yesterday", "this week", "2026-01-19", "2026-01-19 10:00 to 2026-01-20",
                  "today during business hours", "weekdays during business hours last 10 days",
                  "weekends last 10 days", 'timestamp >= "2026-01-20 08:00"', "level:ERROR this month"]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("text", ZONED_EXAMPLES)
def test_time_clauses_agree_in_other_zones(os_client, corpus_index, zone, text):
    zoned = QuerySettings(timezone=zone, business_hours_start="08:30", business_hours_end="18:00")
    query = parse(text, now=NOW, settings=zoned)
    remote = _opensearch_ids(os_client, corpus_index, compile_query(query, settings=zoned))
    local = {doc_id for doc_id, doc in CORPUS.items() if matches(query, doc)}
    assert remote == local, f"{text!r} in {zone}: {sorted(remote ^ local)[:5]}"
    # in New York `now` is 07:00, so today's business hours have not started: empty is right there
    empty_ok = zone == "America/New_York" and text == "today during business hours"
    assert (empty_ok or len(remote) > 0) and len(remote) < CORPUS_SIZE


def test_wildcards_are_term_lookups_not_scans(os_client, corpus_index):
    for text in ["data*", "*base", "source:web*", "host:*-01", 'user_email LIKE "%@gmail.com"']:
        dsl = compile_query(parse(text, now=NOW, settings=SETTINGS), settings=SETTINGS)
        resp = os_client.indices.validate_query(index=corpus_index, body={"query": dsl}, explain=True)
        explanation = resp["explanations"][0]["explanation"]
        # a term on an edge-gram subfield (.prefixes/.suffixes), never a scan over words
        assert resp["valid"] and ("prefixes:" in explanation or "suffixes:" in explanation), explanation
        assert "*" not in explanation, explanation


# ---------------------------------------------------------------------------------------------
# random queries

_tokens = sorted({t for w in WORDS for t in tokenize(w)})


word_atoms = st.sampled_from(WORDS).map(lambda w: w if w[0] not in "/" else f'"{w}"')
phrase_atoms = st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"')
# wildcards apply to one word: keep only affixes that are themselves a single token (and not
# 'foo:b*', which is field syntax; the docs say to quote such words)
_affix_tokens = st.sampled_from([t for t in _tokens if ":" not in t])
prefix_atoms = st.builds(lambda t, n: t[: max(1, min(n, len(t)))] + "*", _affix_tokens, st.integers(1, 6)).filter(
    lambda w: is_single_token(w[:-1]))
suffix_atoms = st.builds(lambda t, n: "*" + t[-max(1, min(n, len(t))):], _affix_tokens, st.integers(1, 6)).filter(
    lambda w: is_single_token(w[1:]))
field_atoms = st.one_of(
    st.builds(lambda lv, up: f"level:{lv.upper() if up else lv.lower()}", st.sampled_from(LEVELS), st.booleans()),
    st.builds(lambda op, lv: f"level {op} {lv}", st.sampled_from([">", ">=", "<", "<=", "=", "!="]),
              st.sampled_from(LEVELS)),
    st.builds(lambda s: f"source:{s}", st.sampled_from(SERVICES)),
    st.lists(st.sampled_from([*LEVELS, "err", "warning"]), min_size=1, max_size=3).map(
        lambda xs: "level:(" + " OR ".join(xs) + ")"),
    st.builds(lambda s, n: f"source:{s[:n]}*", st.sampled_from(SERVICES), st.integers(1, 5)),
    st.builds(lambda h, n: f"host:*{h[-n:]}", st.sampled_from(HOSTS), st.integers(1, 4)),
    st.builds(lambda op, n: f"response_time {op} {n}", st.sampled_from([">", ">=", "<", "<=", "!="]),
              st.integers(0, 3000)),
    st.builds(lambda op, s: f"status_code {op} {s}", st.sampled_from([":", "=", "!=", ">", "<="]),
              st.sampled_from(STATUSES)),
    st.lists(st.sampled_from(STATUSES), min_size=1, max_size=4).map(
        lambda xs: f"status IN ({', '.join(map(str, xs))})"),
    st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3).map(
        lambda xs: "source NOT IN (" + ", ".join(f'"{x}"' for x in xs) + ")"),
    st.sampled_from(['user_email LIKE "%@gmail.com"', 'user_email LIKE "%.co"', 'user_email LIKE "a%"',
                     'user_email NOT LIKE "%gmail.com"', 'message LIKE "%timeout%"', 'message LIKE "data%"',
                     'message LIKE "%base"', "error_message IS NULL", "error_message IS NOT NULL",
                     "user_id EXISTS", "user.id:7", "request.headers.authorization EXISTS",
                     "response.body.error.code = 1001", "response.body.error.code >= 1002", "tags:prod",
                     "tags:canary", "message:timeout", 'message:"connection refused"', "event.original:data*"]),
)
atoms = st.one_of(word_atoms, phrase_atoms, prefix_atoms, suffix_atoms, field_atoms, field_atoms)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from([" AND ", " OR ", " ", " and ", " or "]), children).map(
            lambda t: f"({t[0]}{t[1]}{t[2]})"),
        children.map(lambda c: f"NOT {c}"),
        children.map(lambda c: f"-({c})"),
    )


time_suffixes = st.sampled_from([
    "", "", "", " last 15 minutes", " last 6 hours", " last 3 days", " today", " yesterday", " this week",
    " 2026-01-19 to 2026-01-20", " weekdays last 7 days", " during business hours last 5 days",
    " today during business hours", ' timestamp >= "2026-01-18 06:30"',
])
queries = st.tuples(st.recursive(atoms, _combine, max_leaves=6), time_suffixes).map(lambda t: t[0] + t[1])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=queries)
def test_random_queries_agree(os_client, corpus_index, text):
    _check(os_client, corpus_index, text)


# ---------------------------------------------------------------------------------------------
# expensive mode (query.allow_expensive_queries: true): wildcard queries and keyword ranges

EXPENSIVE = QuerySettings(timezone="UTC", allow_expensive_queries=True)
EXPENSIVE_EXAMPLES = [
    'source LIKE "w_b%"', 'user_email LIKE "%gmail%"', "host:*b-0*", "source > m", 'source <= "billing-worker"',
    "tags:pr*", "tags:*ary", 'user_email LIKE "_@%.co%"', 'host LIKE "%b-0_"',
]


def _cluster_allows_expensive(os_client) -> bool:
    resp = os_client.cluster.get_settings(include_defaults=True, flat_settings=True)
    for scope in ("transient", "persistent", "defaults"):
        value = resp.get(scope, {}).get("search.allow_expensive_queries")
        if value is not None:
            return str(value).lower() == "true"
    return True


@pytest.mark.parametrize("text", EXPENSIVE_EXAMPLES)
def test_expensive_mode_agrees(os_client, corpus_index, text):
    assert _cluster_allows_expensive(os_client), (
        "the test cluster runs with search.allow_expensive_queries=false; expensive mode needs a cluster that allows it"
    )
    query = parse(text, now=NOW, settings=EXPENSIVE)
    dsl = compile_query(query, settings=EXPENSIVE)
    remote = _opensearch_ids(os_client, corpus_index, dsl)
    local = {doc_id for doc_id, doc in CORPUS.items() if matches(query, doc)}
    assert remote == local, f"{text!r}: {sorted(remote ^ local)[:5]} DSL {dsl}"
    assert 0 < len(remote) < CORPUS_SIZE, f"{text!r} selects {len(remote)} events: not a useful check"
