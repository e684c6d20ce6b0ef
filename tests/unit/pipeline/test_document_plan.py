"""pipeline/docplan.py: the compiled fast path builds exactly the document of the key-by-key walk.

Each case is built through ``to_document`` until its key set is compiled (the first events of a
key set walk, later ones use the plan) and compared, as JSON bytes so key order counts, with ``_general``.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import orjson
import pytest
from pipeline_testkit import make_event

from pipeline import docplan
from pipeline.document import _general, to_document
from pipeline.event import Event


def _event(doc: dict[str, Any], tags: tuple[str, ...] = ()) -> Event:
    ev = make_event(None, message="m")
    ev.doc["@timestamp"] = "2026-01-19T10:31:00.000Z"
    ev.doc.update(doc)
    for tag in tags:
        ev.tag(tag)
    return ev


def _same_as_walk(doc: dict[str, Any], tags: tuple[str, ...] = ()) -> bool:
    """Whether the second build (the plan's, if the key set has one) equals the walk; True if planned."""
    expected = orjson.dumps(_general(_event(copy.deepcopy(doc), tags)))
    for _ in range(docplan.COMPILE_AFTER + 1):
        got = orjson.dumps(to_document(_event(copy.deepcopy(doc), tags)))
        assert got == expected, (doc, got, expected)
    ev = _event(copy.deepcopy(doc), tags)
    to_document(ev)
    key = (tuple(ev.doc), "event.original" in ev.doc and ev.doc["event.original"] == ev.doc.get("message"),
           bool(ev.tags))
    return docplan._PLANS.get(key) is not None


CASES: list[tuple[dict[str, Any], tuple[str, ...], bool]] = [
    # (flat fields added to an event, tags, planned?)
    ({"client.ip": "1.2.3.4", "http.response.status_code": 200, "url.path": "/a"}, (), True),
    ({"event.original": "m", "log.level": "INFO"}, (), True),  # one copy of the line: dropped
    ({"event.original": "other line"}, ("parse_failure",), True),
    ({"status": "503", "rt": "0.017", "user_email": "a@b.c", "query_type": "db"}, (), True),  # aliases, fields.*
    ({"statusCode": "OK"}, (), True),  # will not convert: the walk keeps it in _malformed
    ({"duration_ms": 4, "event.duration_ms": 4.0}, (), True),  # one stored field, equal values
    ({"duration_ms": 4, "event.duration_ms": 5.0}, (), True),  # ... different: the walk keeps both
    ({"user": "bob", "user.id": "7"}, (), False),  # a value and an object under one name
    ({"user.id": "7", "user": "bob"}, (), False),
    ({"_id": "x", "_source.a": 1, "a..b": 2, ".c": 3, "d.": 4}, (), True),  # reserved and empty names
    ({"a..b": 1, "a._.b": 2}, (), False),  # two names nested onto one place
    ({"labels": "flat"}, (), False),  # the key's labels.tenant must still be set
    ({"event.id.x": 1}, (), False),
    ({"labels.tenant": "spoof", "service.name": "spoof", "event.id": "spoof"}, (), True),  # key values win
    ({"tags": ["mine"], "x": 1}, ("t1",), True),  # tags replace the event's own
    ({"tags.inner": 1}, ("t1",), False),
    ({"client.geo.location": {"lat": 1.0, "lon": 2.0}, "payload": {}}, (), True),  # object values kept whole
    ({"x" + ".y" * 20: 1}, (), False),  # deeper than MAX_DEPTH
]


@pytest.mark.parametrize(("doc", "tags", "planned"), CASES)
def test_plan_builds_the_walks_document(doc: dict[str, Any], tags: tuple[str, ...], planned: bool) -> None:
    assert _same_as_walk(doc, tags) is planned


def test_plan_equals_walk_on_random_key_sets() -> None:
    rng = random.Random(13)
    names = ["a", "a.b", "a.b.c", "status", "http.response.status_code", "_id", "_id.x", "user", "user.id",
             "labels", "labels.x", "event.original", "message", "tags", "log.level", "duration_ms",
             "event.duration_ms", "x..y", "service", "event.id", "fields.q", "q", "pid", "process.pid"]
    values = ["v", "m", 3, "3", "x3", None, [1, 2], 4.0, True]  # (the walk may nest into object values)
    planned = 0
    for _ in range(400):
        doc = {rng.choice(names): rng.choice(values) for _ in range(rng.randint(1, 8))}
        tags = ("t",) if rng.random() < 0.3 else ()
        planned += _same_as_walk(doc, tags)
    assert planned > 50  # the comparison covered the fast path, not only the walk


def test_a_rare_key_set_is_not_compiled() -> None:
    for n in range(1, docplan.COMPILE_AFTER + 1):
        ev = _event({"rare.key.set": 1})
        to_document(ev)
        key = (tuple(ev.doc), False, False)
        assert (key in docplan._PLANS) is (n == docplan.COMPILE_AFTER)
