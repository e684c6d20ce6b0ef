"""Export formatters: each batch is independent bytes; the concatenation is a valid file."""

from __future__ import annotations

import csv
import io

import orjson
import pytest

from opensearch.export import formatter_for, source_filter

HITS = [
    {"_id": "a", "_source": {"@timestamp": "t1", "message": 'say "hi",\nbye', "log": {"level": "INFO"},
                             "service": {"name": "api"}, "host": {"name": "h"}, "labels": {"k": [1, 2]}}},
    {"_id": "b", "_source": {"@timestamp": "t2", "message": "x", "event": {"id": "b"}}},
]


def render(fmt: str, batches: list[list[dict]], columns=("@timestamp", "message")) -> bytes:
    f = formatter_for(fmt, list(columns))
    return f.head() + b"".join(f.batch(b) for b in batches) + f.tail()


@pytest.mark.parametrize("batches", [[], [[]], [HITS], [HITS[:1], [], HITS[1:]]])
def test_json_is_one_valid_array_across_batches(batches):
    docs = orjson.loads(render("json", batches))
    assert [d["event"]["id"] if "event" in d else d["event.id"] for d in docs] == [
        h["_id"] for b in batches for h in b]


def test_ndjson_one_document_per_line_with_event_id():
    lines = render("ndjson", [HITS]).splitlines()
    assert [orjson.loads(x).get("event.id") or orjson.loads(x)["event"]["id"] for x in lines] == ["a", "b"]


def test_csv_quotes_and_serialises_nested_values():
    out = render("csv", [HITS], columns=("id", "message", "labels.k", "log.level"))
    rows = list(csv.reader(io.StringIO(out.decode(), newline="")))
    assert rows == [["id", "message", "labels.k", "log.level"],
                    ["a", 'say "hi",\nbye', "[1,2]", "INFO"], ["b", "x", "", ""]]


def test_text_is_one_line_per_event():
    lines = render("text", [HITS]).decode().splitlines()
    assert lines == ['t1 INFO  api@h say "hi",\\nbye', "t2 -     -@- x"]


def test_source_filter_fetches_only_needed_fields():
    assert source_filter("csv", ["id", "message"]) == ["message"]
    assert source_filter("csv", ["id"]) is False
    assert source_filter("ndjson", []) is True
    with pytest.raises(ValueError):
        formatter_for("xml", [])
