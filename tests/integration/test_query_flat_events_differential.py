"""Random flat events with random keys, stored as the pipeline stores them, are found by the name as
sent — by the in-memory matcher and by OpenSearch alike (issue 11: the differential test, extended).

Each example is a few events as a client would send them (arbitrary top-level keys, nested objects,
dotted names, strings/integers/booleans). They go through the gateway's validation (envelope), the
pipeline's document builder (the field vocabulary decides where each name is stored) and are
indexed into a real OpenSearch with the query engine's mapping; then for every key sent, ``key
EXISTS`` and ``key = value`` must select the same events in both back ends, and the event itself.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.validate import KeyContext, ValidationLimits, parse_batch, validate_batch
from logharbor import event_shape, vocabulary
from opensearch.query import compile_query, matches, parse
from opensearch.query.mapping import required_index_body
from pipeline.document import to_document
from pipeline.event import Event

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 21, 12, 0, tzinfo=UTC)
KEY = KeyContext(key_id="abcdefgh2345", tenant="acme", source="web")
RESERVED = set(event_shape.TIME_KEYS + event_shape.LEVEL_KEYS + event_shape.MESSAGE_KEYS + event_shape.HOST_KEYS
               + event_shape.SERVICE_KEYS) | event_shape.ENVELOPE_KEYS | vocabulary.ECS_ROOTS | set(vocabulary.ALIASES)
_name = st.from_regex(r"\A[a-z][a-z0-9_]{0,7}\Z").filter(lambda n: n not in RESERVED and n.lower() not in RESERVED)
_scalar = st.one_of(st.integers(-1000, 1000), st.sampled_from(["alpha", "beta", "x-1", "Gamma"]), st.booleans())


@st.composite
def flat_event(draw) -> tuple[dict, dict]:
    """(event as sent, {query name: value}) with top-level, nested and dotted keys."""
    sent: dict = {"ts": "2026-01-21T11:00:00Z", "msg": "m"}
    keys: dict = {}
    for _ in range(draw(st.integers(1, 4))):
        name, value = draw(_name), draw(_scalar)
        shape = draw(st.sampled_from(["top", "nested", "dotted"]))
        if shape == "top":
            sent[name] = value
            keys[name] = value
        else:
            child = draw(_name)
            if shape == "nested":
                sent.setdefault(name, {})
                if not isinstance(sent[name], dict):
                    continue
                sent[name][child] = value
            else:
                sent[f"{name}.{child}"] = value
            keys[f"{name}.{child}"] = value
    return sent, keys


def _stored(events: list[dict]) -> list[dict]:
    body = b"\n".join(orjson.dumps(e) for e in events)
    lim = ValidationLimits()
    result = validate_batch(parse_batch(body, "ndjson", lim), KEY, limits=lim, now=NOW)
    assert not result.rejected, result.rejected
    return [to_document(Event.from_envelope(env)) for env in result.envelopes]


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else f'"{value}"'


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(flat_event(), min_size=2, max_size=5))
def test_flat_events_are_found_by_the_names_as_sent(os_client, batch) -> None:
    sent = [e for e, _ in batch]
    docs = _stored(sent)
    index = f"logharbor-flat-diff-{uuid.uuid4().hex[:8]}"
    os_client.indices.create(index=index, body=required_index_body())
    try:
        lines: list[dict] = []
        for i, doc in enumerate(docs):
            lines += [{"index": {"_index": index, "_id": str(i)}}, doc]
        resp = os_client.bulk(body=lines, refresh="wait_for")
        if resp["errors"]:  # two events gave one name two types: the pipeline's indexer moves those to _malformed
            bad = [i for i in resp["items"] if "error" in i["index"]]
            assert all(b["index"]["error"]["type"] in ("mapper_parsing_exception", "illegal_argument_exception")
                       for b in bad), bad
            return
        for i, (_, keys) in enumerate(batch):
            for name, value in keys.items():
                for text in (f"{name} EXISTS", f"{name} = {_literal(value)}"):
                    query = parse(text, now=NOW)
                    dsl = compile_query(query)
                    hits = os_client.search(index=index, body={"query": dsl, "size": 50, "_source": False})
                    remote = {h["_id"] for h in hits["hits"]["hits"]}
                    local = {str(j) for j, doc in enumerate(docs) if matches(query, doc)}
                    assert remote == local, (text, dsl, docs)
                    assert str(i) in local, (text, dsl, docs[i])
    finally:
        os_client.indices.delete(index=index, ignore_unavailable=True)
