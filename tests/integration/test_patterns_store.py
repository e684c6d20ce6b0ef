"""Pattern ids through the real OpenSearch store: two workers agree, a restart resumes."""

from __future__ import annotations

import csv
from pathlib import Path

from logharbor import ecs
from logharbor.envelope import Envelope
from pipeline.event import Event
from pipeline.logpatterns.step import PATTERN_ID, PatternsConfig, PatternsStep

CORPUS = Path(__file__).resolve().parents[1] / "data" / "patterns"
INDEX = ".logharbor-patterns"


def _lines(name: str, n: int) -> list[str]:
    with (CORPUS / f"{name}.csv").open(newline="") as fh:
        return [row["Content"] for row in csv.DictReader(fh)][:n]


def _events(tenant: str, lines: list[str]) -> list[Event]:
    out = []
    for i, line in enumerate(lines):
        env = Envelope(id=f"{tenant}-{i}", tenant=tenant, source="sshd", key_id="k", received_at="2026-01-01T00:00:00Z",
                       message=line)
        out.append(Event.from_envelope(env))
    return out


def _ids(step: PatternsStep, tenant: str, lines: list[str]) -> list[str]:
    events = [step.process(e) for e in _events(tenant, lines)]
    return [e.doc[PATTERN_ID] for e in events]


def test_restart_and_second_worker_reuse_stored_ids(os_client, unique_tenant) -> None:
    lines = _lines("openssh", 600)
    cfg = PatternsConfig(flush_interval_s=0)
    try:
        first = PatternsStep(cfg, client=os_client)
        _ids(first, unique_tenant, lines)
        assert first.save_now() > 0
        final = {t.text: t.id for m in first.miners.values() for t in m.by_id.values()}

        # a restarted worker (and any second worker) seeds from the store: the first line of each
        # statement already gets the final id, no relearning
        restarted = PatternsStep(cfg, client=os_client)
        ids = _ids(restarted, unique_tenant, lines)
        assert set(ids) <= set(final.values())
        second = PatternsStep(cfg, client=os_client)
        assert _ids(second, unique_tenant, lines) == ids

        # both workers' counts add up in the store (scripted upserts, no overwrite)
        restarted.save_now()
        second.save_now()
        os_client.indices.refresh(index=INDEX)
        resp = os_client.search(index=INDEX, body={
            "size": 0, "query": {"term": {"tenant": unique_tenant}},
            "aggs": {"n": {"sum": {"field": "count"}}}})
        assert resp["aggregations"]["n"]["value"] == 3 * len(lines)
        stored = os_client.search(index=INDEX, body={"size": 1000, "query": {"term": {"tenant": unique_tenant}}})
        docs = {h["_id"]: h["_source"] for h in stored["hits"]["hits"]}
        live = {i for i, d in docs.items() if "merged_into" not in d}
        assert set(final.values()) <= live
        assert all(docs[i]["service"] == "sshd" and docs[i]["tenant"] == unique_tenant for i in docs)
    finally:
        os_client.delete_by_query(index=INDEX, body={"query": {"term": {"tenant": unique_tenant}}},
                                  refresh=True, ignore=[404])


def test_store_down_mines_in_memory(unique_tenant) -> None:
    from logharbor.config import OpenSearchSettings
    from opensearch.client import sync_client

    dead = sync_client(OpenSearchSettings(url="http://127.0.0.1:9", timeout_s=1))
    step = PatternsStep(PatternsConfig(retry_load_s=3600), client=dead)
    events = [step.process(e) for e in _events(unique_tenant, _lines("openssh", 50))]
    assert all(PATTERN_ID in e.doc and e.doc[ecs.MESSAGE] for e in events)
    assert (unique_tenant, "sshd") in step.unloaded
