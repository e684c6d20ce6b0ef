"""Snapshots on a real OpenSearch node with an ``fs`` repository (the devstack registers it).

snapshot → delete the data stream → restore → every document back with its content hash;
verify recorded with its duration; two scheduler processes, each slot taken by exactly one;
snapshot retention keeps ``min_count`` and never touches a snapshot LogHarbor did not take.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest

from opensearch import lifecycle_audit, snapshots
from opensearch.bootstrap import bootstrap
from opensearch.lease import LEASE_INDEX
from opensearch.snapshot_verify import doc_hash

pytestmark = [pytest.mark.integration]


def _cli(args: list[str], url: str, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ops.cli", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "LOGHARBOR_OPENSEARCH_URL": url, **(env or {})})


def _fill(client, stream: str, n: int, rollover_every: int = 0) -> None:
    body = []
    for i in range(n):
        body.append({"create": {"_index": stream, "_id": f"{stream}-{i}"}})
        body.append({"@timestamp": f"2026-11-30T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
                     "message": f"line {i} {uuid.uuid4()}", "log": {"level": "INFO"}, "labels": {"n": str(i)}})
        if rollover_every and (i + 1) % rollover_every == 0:
            assert not client.bulk(body=body, refresh="true")["errors"]
            body = []
            client.indices.rollover(alias=stream)
    if body:
        assert not client.bulk(body=body, refresh="true")["errors"]


def _hashes(client, stream: str) -> dict[str, str]:
    client.indices.refresh(index=stream)
    res = client.search(index=stream, body={"size": 10000, "query": {"match_all": {}}})
    return {h["_id"]: doc_hash(h["_source"]) for h in res["hits"]["hits"]}


@pytest.fixture
def node_client(private_node):
    client = private_node.client()
    bootstrap(client)
    yield client
    client.close()


def test_snapshot_delete_restore_every_document_back_and_verify_recorded(private_node, node_client, unique_tenant):
    client, url = node_client, private_node.url
    stream = f"logs-{unique_tenant}-standard"
    _fill(client, stream, 3000, rollover_every=1000)
    before = _hashes(client, stream)
    assert len(before) == 3000
    made = _cli(["snapshots", "create", "--wait"], url)
    assert made.returncode == 0, made.stdout + made.stderr
    run = json.loads(made.stdout)
    assert run["outcome"] == "SUCCESS" and run["snapshot"].startswith("logharbor-")
    assert stream in snapshots.info(client, "logharbor", run["snapshot"])["data_streams"]

    client.indices.delete_data_stream(name=stream)
    dry = _cli(["snapshots", "restore", "--latest", "--data-stream", stream, "--dry-run"], url)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"{stream} -> {stream}" in dry.stdout and "dry run: nothing restored" in dry.stdout
    assert not client.indices.exists(index=stream)

    back = _cli(["snapshots", "restore", "--latest", "--data-stream", stream, "--wait"], url)
    assert back.returncode == 0, back.stdout + back.stderr
    assert _hashes(client, stream) == before

    # a second restore over the now open indices is refused, naming them, with exit 1
    again = _cli(["snapshots", "restore", "--latest", "--data-stream", stream, "--wait"], url)
    assert again.returncode == 1 and "refusing to overwrite open indices" in again.stderr

    ver = _cli(["snapshots", "verify"], url, timeout=300)
    assert ver.returncode == 0, ver.stdout + ver.stderr
    result = json.loads(ver.stdout)
    mine = [r for r in result["indices"] if f"logs-{unique_tenant}-" in r["index"]]
    # three full backing indices and the empty write index left by the last rollover
    assert len(mine) == 4 and all(r["ok"] and r["mismatched"] == 0 for r in mine)
    assert sum(r["sampled"] for r in mine) >= 30
    assert sum(r["restored_docs"] for r in mine) == 3000
    rec = lifecycle_audit.search(client, kind="verify", size=1)[0]
    assert rec["outcome"] == "ok" and rec["snapshot"] == run["snapshot"] and rec["duration_s"] > 0
    assert client.cat.indices(index="lhverify-*", format="json", expand_wildcards="all") == []
    client.indices.delete_data_stream(name=stream)


def test_failed_snapshot_exits_non_zero(private_node):
    out = _cli(["snapshots", "--repository", "no-such-repo", "create", "--wait"], private_node.url)
    assert out.returncode == 1
    assert "no-such-repo" in out.stdout + out.stderr


def _own_repo(client, private_node, name: str) -> str:
    snapshots.register_repository(client, name, str(private_node.repo_root / name))
    return name


def test_scheduled_snapshot_taken_by_exactly_one_of_two_schedulers(private_node, node_client):
    client = node_client
    repo = _own_repo(client, private_node, f"sched-{uuid.uuid4().hex[:6]}")
    env = {"LOGHARBOR_LIFECYCLE_SNAPSHOT_REPOSITORY": repo, "LOGHARBOR_LIFECYCLE_VERIFY_AFTER_SNAPSHOT": "false",
           "LOGHARBOR_LIFECYCLE_LEASE_TTL_S": "6", "LOGHARBOR_LIFECYCLE_SNAPSHOT_TIMEZONE": "Europe/Berlin",
           "LOGHARBOR_OPENSEARCH_URL": private_node.url}
    cmd = [sys.executable, "-m", "ops.cli", "snapshots", "schedule", "--run", "--schedule", "* * * * * */4"]
    started = time.time()
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, **env}) for _ in range(2)]
    lines: list[list[str]] = [[] for _ in procs]
    readers = [threading.Thread(target=lambda p=p, out=out: out.extend(p.stdout), daemon=True)
               for p, out in zip(procs, lines, strict=True)]
    for r in readers:
        r.start()
    try:
        # wait for two runs (slots are 4 s apart); a loaded CI box may take far longer to start
        # two interpreters and finish two snapshots, so poll up to a bound instead of sleeping
        deadline = time.time() + 180
        while time.time() < deadline and sum(x.startswith("{") for out in lines for x in list(out)) < 2:
            time.sleep(0.5)
    finally:
        for p in procs:
            p.terminate()
        for p, r in zip(procs, readers, strict=True):
            p.wait(timeout=60)
            r.join(timeout=10)
    outs = ["".join(out) for out in lines]
    runs = [json.loads(line) for out in outs for line in out.splitlines() if line.startswith("{")]
    assert len(runs) >= 2, outs
    tagged = [s for s in snapshots.list_snapshots(client, repo)
              if (s.get("metadata") or {}).get("trigger") == "schedule"]
    assert sorted(s["snapshot"] for s in tagged) == sorted(r["snapshot"] for r in runs)
    assert all(r["outcome"] == "SUCCESS" for r in runs)
    client.indices.refresh(index=LEASE_INDEX)
    slots = client.search(index=LEASE_INDEX, body={"size": 100, "query": {"bool": {"filter": [
        {"term": {"kind": "snapshot-slot"}}, {"range": {"acquired_at": {"gte": started - 1}}}]}}})["hits"]["hits"]
    assert len(slots) == len(runs)  # one claim per slot, one snapshot per claim
    # the lease kept one holder for the whole run: every snapshot came from the same process
    assert len({r["actor"] for r in runs}) == 1, runs


def test_snapshot_retention_keeps_min_count_and_foreign_snapshots(private_node, node_client):
    client = node_client
    repo = _own_repo(client, private_node, f"ret-{uuid.uuid4().hex[:6]}")
    client.snapshot.create(repository=repo, snapshot="operator-manual", wait_for_completion=True,
                           body={"indices": "logs-*", "include_global_state": False})
    ours = []
    for _ in range(4):
        name = snapshots.create(client, repo, trigger="test")
        snapshots.wait(client, repo, name, 60)
        ours.append(name)
    time.sleep(1.2)
    gone = snapshots.apply_retention(client, repo, max_count=1, max_age="1s", min_count=2)
    assert sorted(gone) == sorted(ours[:2])
    left = [s["snapshot"] for s in snapshots.list_snapshots(client, repo)]
    assert sorted(left) == sorted(["operator-manual", *ours[2:]])
    deletions = lifecycle_audit.search(client, kind="snapshot_delete", size=50)
    assert {d["snapshot"] for d in deletions} >= set(ours[:2])
