"""Storage against a real OpenSearch: ECS mappings, data streams, lifecycle, idempotent bootstrap."""

from __future__ import annotations

import time
import uuid

import pytest

from logharbor.config import StorageSettings
from opensearch import lifecycle
from opensearch.bootstrap import bootstrap
from opensearch.definitions import all_definitions
from opensearch.indices_status import collect, render
from opensearch.lifecycle_settings import LifecycleSettings
from opensearch.retention import get_retention, set_retention

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bootstrapped(os_client):
    bootstrap(os_client)
    return os_client


def _delete_ds(client, name: str) -> None:
    client.indices.delete_data_stream(name=name, ignore=[404])


def test_document_lands_in_backing_index_with_ecs_mapping(bootstrapped, unique_tenant):
    client = bootstrapped
    ds = f"logs-{unique_tenant}-standard"
    try:
        client.index(index=ds, op_type="create", refresh="wait_for", body={
            "@timestamp": "2026-11-29T10:00:00Z", "message": "GET /api 200",
            "client": {"ip": "203.0.113.9", "geo": {"location": {"lat": 52.5, "lon": 13.4}}},
            "log": {"level": "INFO"}, "labels": {"team": "core"},
        })
        streams = client.indices.get_data_stream(name=ds)["data_streams"]
        backing = streams[0]["indices"][0]["index_name"]
        assert backing.startswith(f".ds-{ds}-")
        props = client.indices.get_mapping(index=backing)[backing]["mappings"]["properties"]
        assert props["client"]["properties"]["ip"]["type"] == "ip"
        assert props["client"]["properties"]["geo"]["properties"]["location"]["type"] == "geo_point"
        assert props["labels"]["properties"]["team"]["type"] == "keyword"
        assert props["message"]["fields"]["suffixes"]["analyzer"] == "lh_suffixes"
        assert props["event"]["properties"]["id"] == {"type": "keyword", "index": False}  # doc values only
        settings = client.indices.get_settings(index=backing)[backing]["settings"]["index"]
        assert settings["codec"] == "best_compression"
        assert settings["mapping"]["total_fields"]["limit"] == "2000"
        # a geo query proves geo_point is really indexed, not just declared
        hits = client.search(index=ds, body={"query": {"geo_distance": {
            "distance": "10km", "client.geo.location": {"lat": 52.5, "lon": 13.4}}}})
        assert hits["hits"]["total"]["value"] == 1
        # the class policy is attached (explain: ISM's API or LogHarbor's own state)
        explained = lifecycle.explain(client, [backing])
        assert explained[backing]["policy"] == "logharbor-standard"
    finally:
        _delete_ds(client, ds)


def test_bootstrap_twice_changes_nothing(os_client):
    bootstrap(os_client)
    second = bootstrap(os_client)
    assert second, "bootstrap applied nothing"
    assert {c.outcome for c in second} == {"unchanged"}, [str(c) for c in second if c.outcome != "unchanged"]


def test_edited_definition_is_updated_in_place(os_client):
    cls = "lh" + uuid.uuid4().hex[:8]
    storage = StorageSettings(retention_days={cls: 3})
    try:
        first = {(c.kind, c.name): c.outcome for c in bootstrap(os_client, storage, retention={})}
        assert first[("index_template", f"logharbor-logs-{cls}")] == "created"
        storage2 = StorageSettings(retention_days={cls: 5})
        second = {(c.kind, c.name): c.outcome for c in bootstrap(os_client, storage2, retention={})}
        policy_kind = "ism_policy" if lifecycle.use_ism(os_client, storage2) else "lifecycle_policy"
        assert second[(policy_kind, f"logharbor-{cls}")] == "updated"
        assert second[("index_template", f"logharbor-logs-{cls}")] == "unchanged"
        policy = lifecycle.get_policies(os_client)[f"logharbor-{cls}"]
        delete = next(s for s in policy["states"] if s["name"] == "cold")["transitions"][0]
        assert delete["conditions"]["min_index_age"] == "5d"
    finally:
        _cleanup_class(os_client, cls)


def _cleanup_class(client, cls: str) -> None:
    client.indices.delete_index_template(name=f"logharbor-logs-{cls}", ignore=[404])
    client.delete(index=lifecycle.LIFECYCLE_INDEX, id=f"policy:logharbor-{cls}", ignore=[404], refresh=True)


def test_rollover_warm_and_delete_really_happen(os_client, unique_tenant):
    """A test-only class with tiny conditions: rollover at 3 docs, warm at once, delete after 2 s.

    The devstack registers the ``logharbor`` snapshot repository; this test names one that does
    not exist, so deletion takes the close-for-the-grace-period path it asserts.
    """
    no_repo = LifecycleSettings(snapshot_repository="none-on-the-shared-devstack")
    if lifecycle.use_ism(os_client, StorageSettings()):
        pytest.fail("this cluster runs ISM; run the ISM variant of this test against it")
    cls = "lh" + uuid.uuid4().hex[:8]
    storage = StorageSettings(retention_days={cls: 1}, rollover_max_docs=3, warm_after_days=0, cold_after_days=0)
    ds = f"logs-{unique_tenant}-{cls}"
    try:
        bootstrap(os_client, storage, retention={})
        # shrink the delete age below a day for the test (ages are ISM time values)
        name = f"logharbor-{cls}"
        body = {"policy": lifecycle.get_policies(os_client)[name]}
        cold = next(s for s in body["policy"]["states"] if s["name"] == "cold")
        cold["transitions"][0]["conditions"]["min_index_age"] = "2s"
        lifecycle.put_policy(os_client, name, body, "test-" + uuid.uuid4().hex)
        for i in range(4):
            os_client.index(index=ds, op_type="create", body={"@timestamp": "2026-11-29T10:00:00Z", "message": f"m{i}"})
        os_client.indices.refresh(index=ds)
        report = lifecycle.run_once(os_client, pattern=ds, settings=no_repo)
        backing = [i["index_name"] for i in os_client.indices.get_data_stream(name=ds)["data_streams"][0]["indices"]]
        assert len(backing) == 2, f"expected a rollover, report={report}"
        first = backing[0]
        assert first in report.rolled_over
        settings = os_client.indices.get_settings(index=first)[first]["settings"]["index"]
        assert settings["blocks"]["write"] == "true", "warm phase must make the index read-only"
        status = render(collect(os_client, ds))
        assert first in status and name in status
        os_client.index(index=ds, op_type="create", refresh="wait_for",
                        body={"@timestamp": "2026-11-29T11:00:00Z", "message": "after rollover"})
        time.sleep(2.5)
        # safe deletion without a snapshot repository: closed for the grace period, then deleted
        report = lifecycle.run_once(os_client, pattern=ds, settings=no_repo)
        from opensearch.safe_delete import pending

        assert first in pending(os_client)  # closed by this run (or already by the first on a slow box)
        assert first not in report.deleted
        report = lifecycle.run_once(os_client, now=time.time() + 25 * 3600, pattern=ds, settings=no_repo)
        assert first in report.deleted
        remaining = [i["index_name"] for i in os_client.indices.get_data_stream(name=ds)["data_streams"][0]["indices"]]
        assert first not in remaining
        # the second index became due only in the late run: closed for its grace period, not deleted
        assert backing[1] in remaining and backing[1] in pending(os_client)
    finally:
        os_client.indices.delete_data_stream(name=ds, ignore=[404])
        _cleanup_class(os_client, cls)


def test_retention_update_is_validated_and_applied(os_client):
    before = get_retention(os_client)
    try:
        with pytest.raises(ValueError, match="unknown retention class 'nope'"):
            set_retention(os_client, {"nope": 3})
        with pytest.raises(ValueError, match=r"retention\.debug: must be a whole number of days from 1 to 3650"):
            set_retention(os_client, {"debug": 0})
        effective, changes = set_retention(os_client, {"debug": 9})
        assert effective["debug"] == 9
        assert any(c.name == "logharbor-debug" and c.outcome == "updated" for c in changes)
        policy = lifecycle.get_policies(os_client)["logharbor-debug"]
        cold = next(s for s in policy["states"] if s["name"] == "cold")
        assert cold["transitions"][0]["conditions"]["min_index_age"] == "9d"
    finally:
        set_retention(os_client, {"debug": before["debug"]})


def test_all_definitions_cover_every_class():
    storage = StorageSettings()
    names = {(d.kind, d.name) for d in all_definitions(storage)}
    for cls in [*storage.retention_days, "dlq"]:
        assert ("index_template", f"logharbor-logs-{cls}") in names
        assert ("ism_policy", f"logharbor-{cls}") in names


def test_wildcards_run_without_expensive_queries(bootstrapped, unique_tenant):
    """Suffix/prefix wildcards compile to term lookups on the edge grams the template indexes, so
    they work when the cluster forbids expensive queries (as hardened clusters do); so does an
    ``id:`` query, although event.id is doc values only (a doc-values term query is not expensive)."""
    from opensearch.query import compile_query, parse

    client = bootstrapped
    ds = f"logs-{unique_tenant}-standard"
    docs = [("database down", "web-api"), ("codebase ready", "worker-01"), ("unrelated", "billing")]
    try:
        for i, (msg, svc) in enumerate(docs, 1):
            client.index(index=ds, op_type="create", id=f"e-{i}", body={
                "@timestamp": "2026-11-29T10:00:00Z", "message": msg, "service": {"name": svc},
                "event": {"id": f"e-{i}"}})
        client.indices.refresh(index=ds)
        client.cluster.put_settings(body={"transient": {"search.allow_expensive_queries": False}})
        for q, expected in (("data*", {"database down"}), ("*base", {"database down", "codebase ready"}),
                            ("source:web*", {"database down"}), ("source:*-01", {"codebase ready"}),
                            ("id:e-2", {"codebase ready"}), ("id IN (e-1, e-3)", {"database down", "unrelated"})):
            res = client.search(index=ds, body={"query": compile_query(parse(q)), "size": 10})
            assert {h["_source"]["message"] for h in res["hits"]["hits"]} == expected, q
    finally:
        client.cluster.put_settings(body={"transient": {"search.allow_expensive_queries": None}})
        _delete_ds(client, ds)
