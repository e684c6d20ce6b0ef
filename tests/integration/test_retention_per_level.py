"""Selective retention per level (spec: ERROR 90 d / WARN 30 d / INFO 7 d / DEBUG 1 d) as
docs/STORAGE.md configures it: a retention class per level in ``storage.retention_days`` and the
pipeline's ``route`` step sending each level to its class. Through the real pipeline and
OpenSearch: every level lands in its own data stream, each stream's backing index is managed by
its class's policy, and that policy deletes after the class's days.
"""

from __future__ import annotations

import json
import uuid

import pytest
from test_pipeline import (  # noqa: F401  (fixtures "templates", "topics")
    Topics,
    pipeline_running,
    produce,
    templates_fixture,
    topics_fixture,
    wait_for_count,
)

from logharbor.config import StorageSettings
from logharbor.envelope import Envelope
from opensearch import lifecycle
from opensearch.bootstrap import bootstrap

pytestmark = pytest.mark.integration


def _delete_after(os_client, cls: str) -> str:
    policy = lifecycle.get_policies(os_client)[f"logharbor-{cls}"]
    cold = next(s for s in policy["states"] if s["name"] == "cold")
    return cold["transitions"][0]["conditions"]["min_index_age"]


async def test_each_level_goes_to_its_class_and_its_policy(topics: Topics, os_url, os_client, kafka_bootstrap,
                                                            tmp_path, monkeypatch) -> None:
    # classes of this test's own, so the shared cluster's errors/standard/debug policies stay as they are
    run = uuid.uuid4().hex[:6]
    levels = {"ERROR": f"lhe{run}", "WARN": f"lhw{run}", "INFO": f"lhi{run}", "DEBUG": f"lhd{run}"}
    spec_days = {"ERROR": 90, "WARN": 30, "INFO": 7, "DEBUG": 1}
    days = {**StorageSettings().retention_days, **{levels[lvl]: d for lvl, d in spec_days.items()}}
    monkeypatch.setenv("LOGHARBOR_STORAGE_RETENTION_DAYS", json.dumps(days))
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "steps:\n  - type: parse\n  - type: route\n    rules:\n"
        f"      - {{retention_class: {levels['ERROR']}, levels: [ERROR, FATAL]}}\n"
        f"      - {{retention_class: {levels['WARN']}, levels: [WARN]}}\n"
        f"      - {{retention_class: {levels['DEBUG']}, levels: [DEBUG]}}\n"
        f"    default_class: {levels['INFO']}\n"
    )
    t = topics.tenant
    try:
        bootstrap(os_client, StorageSettings(retention_days=days), retention={})
        envs = [Envelope(id=f"{t}-{lvl}", tenant=t, source="api", received_at="2026-01-19T10:30:05Z",
                         raw=f"2026-01-19 10:30:00 {lvl} [Job] a {lvl.lower()} line", format="auto")
                for lvl in levels]
        async with pipeline_running(topics, os_url, rules_path=rules) as task:
            await produce(kafka_bootstrap, topics.raw, envs)
            assert await wait_for_count(os_client, t, 4, within_s=60, task=task) == 4
        for lvl, cls in levels.items():
            stream = f"logs-{t}-{cls}"
            os_client.indices.refresh(index=stream)
            hits = os_client.search(index=stream, body={"query": {"match_all": {}}})["hits"]["hits"]
            assert [h["_source"]["log"]["level"] for h in hits] == [lvl], (stream, hits)
            backing = os_client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"][0]["index_name"]
            assert lifecycle.explain(os_client, [backing])[backing]["policy"] == f"logharbor-{cls}"
        assert {lvl: _delete_after(os_client, cls) for lvl, cls in levels.items()} == \
            {lvl: f"{d}d" for lvl, d in spec_days.items()}
    finally:
        os_client.indices.delete_data_stream(name=f"logs-{t}-*", ignore=[404])
        for cls in levels.values():
            os_client.indices.delete_index_template(name=f"logharbor-logs-{cls}", ignore=[404])
            os_client.delete(index=lifecycle.LIFECYCLE_INDEX, id=f"policy:logharbor-{cls}", ignore=[404],
                             refresh=True)
