"""Rollup partials in real OpenSearch: a crash and replay with other batch boundaries neither
loses nor doubles a window; two workers' partials merge to the exact counts."""

from __future__ import annotations

import random
import statistics
import uuid
from itertools import pairwise

from pipeline.streamagg.rollup import (
    AggregationRules,
    Observation,
    merge_rows,
    partial_documents,
    read_rows,
    write_partials,
)

BASE = 1_700_000_000_000


def _observations(tenant: str, n: int) -> list[Observation]:
    rng = random.Random(11)
    return [Observation(i % 2, i // 2, tenant, BASE + i * 50,
                        {"service.name": f"svc{i % 3}", "log.level": rng.choice(["INFO", "WARN", "ERROR"]),
                         "logharbor.duration_ms": rng.uniform(1, 900), "user.id": f"u{i % 40}"})
            for i in range(n)]


def _batches(obs: list[Observation], partition: int, bounds: list[int]) -> list[list[Observation]]:
    mine = [o for o in obs if o.partition == partition]
    return [[o for o in mine if lo <= o.offset < hi] for lo, hi in pairwise(bounds)]


def test_crash_replay_neither_loses_nor_doubles(os_client) -> None:
    tenant = "t" + uuid.uuid4().hex[:10]
    topic = f"t-{tenant}"
    index = f".logharbor-stream-rollups-test-{tenant}"
    rules = AggregationRules()
    obs = _observations(tenant, 2000)  # 1000 offsets per partition, 100 s of events
    try:
        # worker A owns partition 0: batches [0,300) [300,600) committed; [600,850) written, then SIGKILL
        for batch in _batches(obs, 0, [0, 300, 600, 850]):
            write_partials(os_client, partial_documents(topic, batch, rules, 0), index)
        # worker B takes over from committed offset 600 with other boundaries, and owns partition 1
        for batch in _batches(obs, 0, [600, 700, 1000]) + _batches(obs, 1, [0, 450, 1000]):
            write_partials(os_client, partial_documents(topic, batch, rules, 0), index)
        os_client.indices.refresh(index=index)

        end = BASE + 2000 * 50 + 60_000
        for window in (10, 60):
            rows = read_rows(os_client, tenant, "count", window, BASE - 60_000, end, index)
            got = {(r["key"]["service.name"], r["key"]["start"]): r["count"]
                   for r in merge_rows(rows, ["service.name"], per_window=True)}
            want: dict[tuple, int] = {}
            for o in obs:
                key = (o.fields["service.name"], o.ts_ms - o.ts_ms % (window * 1000))
                want[key] = want.get(key, 0) + 1
            assert got == want, window
        rows = merge_rows(read_rows(os_client, tenant, "duration", 60, BASE - 60_000, end, index), [])
        durations = [o.fields["logharbor.duration_ms"] for o in obs]
        assert rows[0]["stats"]["count"] == len(obs)
        assert abs(rows[0]["stats"]["stddev"] - statistics.pstdev(durations)) < 1e-6
        uniq = merge_rows(read_rows(os_client, tenant, "unique", 60, BASE - 60_000, end, index), [])
        assert abs(uniq[0]["unique"]["user.id"] - 40) <= 2
    finally:
        os_client.indices.delete(index=index, ignore=[404])


async def test_partials_past_their_retention_are_deleted(os_url) -> None:
    """retention_days per window, counted from the partial's write: a partial goes once the
    longest-retained window it holds has expired; one holding a window kept longer stays; a
    fresh partial of old events (a backfill) stays."""
    import time

    from logharbor.config import OpenSearchSettings
    from opensearch.client import async_client
    from pipeline.streamagg.sink import DAY_MS, StreamAggregates

    tenant = "t" + uuid.uuid4().hex[:10]
    index = f".logharbor-stream-rollups-test-{tenant}"
    now = int(time.time() * 1000)
    only10 = AggregationRules(windows_s=[10], retention_days={10: 2})
    both = AggregationRules(windows_s=[10, 60], retention_days={10: 2, 60: 30})

    def docs(rules: AggregationRules, written_ms: int, offset: int, ts_ms: int | None = None) -> list:
        ts = written_ms if ts_ms is None else ts_ms
        obs = [Observation(0, offset + i, tenant, ts + i, {"service.name": "s", "log.level": "INFO"})
               for i in range(3)]
        return partial_documents(f"t-{tenant}", obs, rules, written_ms)

    client = async_client(OpenSearchSettings(url=os_url))
    try:
        from opensearch.client import sync_client

        sync = sync_client(OpenSearchSettings(url=os_url))
        old10 = docs(only10, now - 3 * DAY_MS, 0)        # 10-s rows only, 3 days old: past 2 d → deleted
        old_both = docs(both, now - 3 * DAY_MS, 100)     # also 60-s rows (30 d): kept
        ancient = docs(both, now - 31 * DAY_MS, 200)     # both past: deleted
        fresh = docs(only10, now - 60_000, 300)          # a minute old: kept
        backfill = docs(only10, now - 60_000, 400, ts_ms=now - 90 * DAY_MS)  # old events, written now: kept
        write_partials(sync, old10 + old_both + ancient + fresh + backfill, index, refresh=True)
        sink = StreamAggregates(client, both, index=index)
        assert await sink.prune(now) == len(old10) + len(ancient)
        hits = sync.search(index=index, body={"size": 100, "query": {"match_all": {}}})["hits"]["hits"]
        left = {h["_id"] for h in hits}
        assert left == {i for i, _ in old_both + fresh + backfill}
        assert await sink.prune(now) == 0  # idempotent
        sync.indices.delete(index=index, ignore=[404])
        sync.close()
    finally:
        await client.close()
