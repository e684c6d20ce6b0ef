"""Issue 13's migration: one data stream holding a backing index made from the OLDEST template
(message/event.original as text with index_prefixes, a .reversed twin and .keyword), one made
from the lean mapping of 2026-12-01 (match_only_text with docs-only .prefix/.reversed subfields
carrying index_prefixes), one from that of 2026-12-02 morning (match_only_text with edge-gram
.prefixes/.suffixes subfields, keyword fields likewise) and one from the CURRENT one (the same
with message/event.original as text with positions and no norms, so phrases are not confirmed
from _source) answers every query type exactly like a single oldest-template index holding all
events, and like the in-memory matcher.

The older component templates are the fixtures tests/data/templates/logharbor-ecs-mappings-v1.json,
-v2.json and -v3.json (from git history); the current one is index_templates/ as it is now. The test builds its own
component and index templates under unique names (the shared ``logs-*`` templates are left
alone), replaces the ECS component template in place the way ``logharbor indices bootstrap``
does, and rolls the stream over. The whole comparison runs twice: as the cluster is, and with
``search.allow_expensive_queries=false`` set transiently and restored in ``finally`` (the
pattern of test_storage.py) — the compiler's text prefix clause must be valid on both kinds of
backing index without expensive queries.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opensearch.query import compile_query, matches, parse
from tests.integration import test_query_differential as diff

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
OLD_ECS = ROOT / "tests/data/templates/logharbor-ecs-mappings-v1.json"
LEAN_V2_ECS = ROOT / "tests/data/templates/logharbor-ecs-mappings-v2.json"
EDGE_V3_ECS = ROOT / "tests/data/templates/logharbor-ecs-mappings-v3.json"
NEW_ECS = ROOT / "index_templates/component_templates/logharbor-ecs-mappings.json"
SETTINGS_CT = ROOT / "index_templates/component_templates/logharbor-settings.json"

# every query type: free text, phrase, word*/*word, LIKE on text, field:value, ranges, EXISTS,
# IN, NOT, event.original, keyword wildcards, time ranges
QUERIES = [
    "database", '"connection refused"', "database AND timeout", "NOT database", "data*", "*base", "time*",
    "*out", "event.original:data*", "event.original:*base", 'message LIKE "%timeout%"', 'message LIKE "data%"',
    'message LIKE "%base"', 'message:"connection refused"', "message:timeout", "level:ERROR", "level >= WARN",
    "source:web-api", "source:web*", "host:*-01", "status_code IN (500, 502, 503, 504)", "status NOT IN (200, 201)",
    "response_time > 1000", "response_time <= 2000", "user_id EXISTS", "error_message IS NULL",
    'user_email LIKE "%@gmail.com"', "response.body.error.code = 1001", "tags:prod", "42",
    "(data* OR *base) AND level:ERROR", "data* last 3 days", "",
]


def _put_templates(client, names: dict[str, str], ecs_body: dict) -> None:
    client.cluster.put_component_template(name=names["settings"], body=json.loads(SETTINGS_CT.read_text()))
    client.cluster.put_component_template(name=names["ecs"], body=ecs_body)


def _bulk(client, index: str, ids: list[str]) -> None:
    lines: list[dict] = []
    for doc_id in ids:
        lines.append({"create": {"_index": index, "_id": doc_id}})
        lines.append(diff.CORPUS[doc_id])
    resp = client.bulk(body=lines, refresh="wait_for")
    assert not resp["errors"], [i for i in resp["items"] if "error" in i["create"]][:3]


@pytest.fixture(scope="module")
def migrated(os_client) -> Iterator[tuple[str, str]]:
    """(data stream with one v1, one v2, one v3 and one current backing index, single v1 reference index)."""
    uid = uuid.uuid4().hex[:8]
    names = {"settings": f"lhmig-{uid}-settings", "ecs": f"lhmig-{uid}-ecs", "index": f"lhmig-{uid}"}
    stream, reference = f"lhmig-{uid}-standard", f"lhref-{uid}"
    old_body = json.loads(OLD_ECS.read_text())
    ids = sorted(diff.CORPUS)
    part = len(ids) // 4
    try:
        _put_templates(os_client, names, old_body)
        os_client.indices.put_index_template(name=names["index"], body={
            "index_patterns": [f"lhmig-{uid}-*"], "data_stream": {"timestamp_field": {"name": "@timestamp"}},
            "composed_of": [names["settings"], names["ecs"]], "priority": 500})
        _bulk(os_client, stream, ids[:part])
        # bootstrap replaces the component template in place; the next backing index gets it
        for n, ecs in enumerate((LEAN_V2_ECS, EDGE_V3_ECS, NEW_ECS), start=1):
            _put_templates(os_client, names, json.loads(ecs.read_text()))
            os_client.indices.rollover(alias=stream)
            _bulk(os_client, stream, ids[n * part:(n + 1) * part] if n < 3 else ids[n * part:])

        ref_settings = {**json.loads(SETTINGS_CT.read_text())["template"]["settings"]["index"],
                        **old_body["template"]["settings"]["index"]}
        os_client.indices.create(index=reference, body={"settings": {"index": ref_settings},
                                                        "mappings": old_body["template"]["mappings"]})
        _bulk(os_client, reference, ids)
        yield stream, reference
    finally:
        os_client.indices.delete_data_stream(name=stream, ignore=[404])
        os_client.indices.delete(index=reference, ignore_unavailable=True)
        os_client.indices.delete_index_template(name=names["index"], ignore=[404])
        for key in ("settings", "ecs"):
            os_client.cluster.delete_component_template(name=names[key], ignore=[404])


def _ids(client, index: str, dsl: dict) -> set[str]:
    resp = client.search(index=index, body={"query": dsl, "size": diff.CORPUS_SIZE + 10, "_source": False,
                                            "track_total_hits": True})
    assert resp["_shards"]["failed"] == 0, resp["_shards"]
    return {h["_id"] for h in resp["hits"]["hits"]}


def _compare_all(client, stream: str, reference: str) -> list[str]:
    wrong = []
    for text in QUERIES:
        query = parse(text, now=diff.NOW, settings=diff.SETTINGS)
        dsl = compile_query(query, settings=diff.SETTINGS)
        got, want = _ids(client, stream, dsl), _ids(client, reference, dsl)
        local = {i for i, doc in diff.CORPUS.items() if matches(query, doc)}
        if not (got == want == local):
            wrong.append(f"{text!r}: stream-ref {sorted(got - want)[:3]} ref-stream {sorted(want - got)[:3]} "
                         f"matcher^stream {sorted(local ^ got)[:3]}")
        elif text:
            assert 0 < len(got) < diff.CORPUS_SIZE, f"{text!r} selects {len(got)}: not a useful check"
    return wrong


def test_the_stream_really_has_four_generations_of_backing_index(os_client, migrated):
    stream, _ = migrated
    backing = sorted(os_client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"],
                     key=lambda i: i["index_name"])
    assert len(backing) == 4
    kinds = []
    for item in backing:
        props = os_client.indices.get_mapping(index=item["index_name"])[item["index_name"]]["mappings"]["properties"]
        kinds.append((props["message"]["type"], props["message"].get("norms"),
                      sorted(props["message"].get("fields", {})),
                      sorted(props["service"]["properties"]["name"].get("fields", {}))))
    assert kinds == [("text", None, ["keyword", "reversed"], ["prefix", "reversed"]),
                     ("match_only_text", None, ["prefix", "reversed"], ["prefix", "reversed"]),
                     ("match_only_text", None, ["prefixes", "suffixes"], ["prefixes", "suffixes"]),
                     ("text", False, ["prefixes", "suffixes"], ["prefixes", "suffixes"])]


def test_every_query_type_answers_the_same_across_old_and_new_backing_indices(os_client, migrated):
    stream, reference = migrated
    assert _compare_all(os_client, stream, reference) == []


def test_same_answers_with_expensive_queries_refused(os_client, migrated):
    stream, reference = migrated
    try:
        os_client.cluster.put_settings(body={"transient": {"search.allow_expensive_queries": False}})
        wrong = _compare_all(os_client, stream, reference)
    finally:
        os_client.cluster.put_settings(body={"transient": {"search.allow_expensive_queries": None}})
    assert wrong == []


def test_aggregations_and_sorting_agree(os_client, migrated):
    stream, reference = migrated
    dsl = compile_query(parse("data* OR level:ERROR", now=diff.NOW, settings=diff.SETTINGS), settings=diff.SETTINGS)
    body = {"query": dsl, "size": 50, "_source": False,
            "sort": [{"@timestamp": {"order": "desc"}}, {"http.response.status_code": {"order": "asc",
                                                                                        "missing": "_last"}}],
            "aggs": {"by_service": {"terms": {"field": "service.name", "size": 20},
                                    "aggs": {"slowest": {"max": {"field": "logharbor.duration_ms"}}}},
                     "by_level": {"terms": {"field": "log.level"}},
                     "per_day": {"date_histogram": {"field": "@timestamp", "calendar_interval": "day"}}}}

    def shape(index: str) -> tuple:
        r = os_client.search(index=index, body=body)
        aggs = r["aggregations"]
        return ([h["_id"] for h in r["hits"]["hits"]],
                {b["key"]: (b["doc_count"], b["slowest"]["value"]) for b in aggs["by_service"]["buckets"]},
                {b["key"]: b["doc_count"] for b in aggs["by_level"]["buckets"]},
                [(b["key"], b["doc_count"]) for b in aggs["per_day"]["buckets"]])

    got, want = shape(stream), shape(reference)
    assert got == want
    assert len(got[0]) == 50 and len(got[1]) > 1
