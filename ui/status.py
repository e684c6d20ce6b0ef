"""Health of what LogHarbor depends on, for ``GET /api/v1/status``.

Each probe is bounded by ``ui.probe_timeout_s`` and reports ``{"ok": bool, ...}`` instead of
raising, so one dead component never hides the state of the others.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from opensearchpy import AsyncOpenSearch

from logharbor.config import KafkaSettings
from logharbor.consumer_group import pipeline_consumer_group


async def _timed(coro: Any, limit_s: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        result = await asyncio.wait_for(coro, limit_s)
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {limit_s}s"}
    except Exception as exc:  # a probe reports any failure instead of raising
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
    result.setdefault("ok", True)
    result["latency_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return result


async def probe_opensearch(client: AsyncOpenSearch, limit_s: float) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        health = await client.cluster.health()
        return {"ok": health.get("status") in ("green", "yellow"), "status": health.get("status"),
                "nodes": health.get("number_of_nodes")}

    return await _timed(run(), limit_s)


def consumer_lag(committed: dict[Any, int], end_offsets: dict[Any, int]) -> dict[str, Any]:
    """Lag per partition = end offset - committed offset (a partition never committed counts whole)."""
    parts = {}
    for tp, end in end_offsets.items():
        parts[f"{tp.topic}[{tp.partition}]"] = max(0, end - committed.get(tp, 0))
    return {"total": sum(parts.values()), "partitions": parts}


async def probe_kafka(kafka: KafkaSettings, limit_s: float) -> dict[str, Any]:
    """Broker reachable, and the pipeline group's lag on the raw topic."""

    async def run() -> dict[str, Any]:
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=int(limit_s * 1000))
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=None,
                                    request_timeout_ms=int(limit_s * 1000))
        await admin.start()
        try:
            await consumer.start()
            try:
                topics = await consumer.topics()
                ours = sorted(t for t in topics if t.startswith("logharbor"))
                out: dict[str, Any] = {"ok": True, "topics": ours}
                described = await admin.describe_topics([kafka.raw_topic])
                partitions = {p["partition"] for d in described if d.get("error_code") == 0
                              for p in d.get("partitions", [])}
                if partitions:
                    tps = [TopicPartition(kafka.raw_topic, p) for p in sorted(partitions)]
                    ends = await consumer.end_offsets(tps)
                    group = pipeline_consumer_group(kafka)
                    offsets = await admin.list_consumer_group_offsets(group)
                    committed = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
                    out["pipeline_lag"] = {"group": group, **consumer_lag(committed, ends)}
                return out
            finally:
                await consumer.stop()
        finally:
            await admin.close()

    return await _timed(run(), limit_s)


async def probe_gateway(url: str, limit_s: float) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=limit_s)) as session:
            async with session.get(url) as resp:
                return {"ok": resp.status == 200, "status_code": resp.status, "url": url}

    result = await _timed(run(), limit_s)
    result.setdefault("url", url)
    return result


async def probe_field_overflow(client: AsyncOpenSearch, limit_s: float) -> dict[str, Any]:
    """Events stored with fields beyond their index's total-fields limit (docs/STORAGE.md "Field
    explosion"), counted from what is stored, so every pipeline process and restart is included;
    the pipeline's own counter is ``logharbor_pipeline_field_overflow_total``."""

    async def run() -> dict[str, Any]:
        resp = await client.search(index="logs-*", body={
            "size": 0, "track_total_hits": True, "query": {"exists": {"field": "logharbor.overflow_fields"}},
            "aggs": {"tenants": {"terms": {"field": "labels.tenant", "size": 20}}}},
            params={"ignore_unavailable": "true", "allow_no_indices": "true"})
        buckets = ((resp.get("aggregations") or {}).get("tenants") or {}).get("buckets") or []
        return {"events": int(((resp.get("hits") or {}).get("total") or {}).get("value") or 0),
                "tenants": {b["key"]: b["doc_count"] for b in buckets}}

    return await _timed(run(), limit_s)


async def gather_status(client: AsyncOpenSearch, kafka: KafkaSettings, gateway_url: str,
                        limit_s: float) -> dict[str, Any]:
    """All probes concurrently; ``status`` is ``ok`` only when every component is."""
    os_, kf, gw, overflow = await asyncio.gather(
        probe_opensearch(client, limit_s),
        probe_kafka(kafka, limit_s * 2),
        probe_gateway(gateway_url, limit_s),
        probe_field_overflow(client, limit_s),
    )
    components = {"opensearch": os_, "kafka": kf, "gateway": gw}
    return {"status": "ok" if all(c["ok"] for c in components.values()) else "degraded",
            "components": components, "enrichment": enrichment_status(), "field_overflow": overflow}


def enrichment_status() -> dict[str, Any]:
    """Which GeoIP database the pipeline reads with this configuration (informational: not in ``status``)."""
    try:
        from pipeline.enrich.geoip_db import describe
        from pipeline.settings import PipelineSettings

        settings = PipelineSettings()
        return {"geoip": describe(settings.geoip_path, settings.geoip_asn_path)}
    except Exception as exc:  # the status page must answer whatever the pipeline config holds
        return {"geoip": {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}}
