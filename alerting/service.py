"""The alerter: scheduled evaluator + streaming matcher + sender in one asyncio task group.

``logharbor alerter`` runs it alone; ``logharbor run`` embeds it next to the other roles.
It is stateless — every bit of state is in OpenSearch (rules, state, leases, outbox) and
Kafka (the stream's committed offsets) — so any number may run; see alerting/evaluator.py for
why that still notifies once per transition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from alerting.evaluator import Context, run_scheduled
from alerting.sender import Sender
from alerting.settings import AlertingSettings
from alerting.streaming import run_streaming
from logharbor.config import KafkaSettings, OpenSearchSettings
from logharbor.consumer_group import pipeline_consumer_group
from opensearch.alerts_store import ensure_indices
from opensearch.client import async_client

log = logging.getLogger(__name__)


async def run_alerter(settings: AlertingSettings, stop: asyncio.Event, *, kafka: KafkaSettings | None = None,
                      opensearch: OpenSearchSettings | None = None, ready: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set. ``ready`` is set once the stream consumer has its partitions."""
    kafka = kafka or KafkaSettings()
    client = async_client(opensearch or OpenSearchSettings())
    ctx = Context(client, settings, watermark_group=settings.watermark_group or pipeline_consumer_group(kafka))
    try:
        await ensure_indices(client)
        from alerting.health import install_builtin_rules

        if settings.tenants is None:
            with contextlib.suppress(Exception):
                await install_builtin_rules(ctx)
        sender = Sender(ctx)
        tasks = [asyncio.create_task(run_scheduled(ctx, stop, sender.wake.set), name="alert-scheduled"),
                 asyncio.create_task(sender.run(stop), name="alert-sender")]
        stream_ready = asyncio.Event()
        if settings.streaming:
            tasks.append(asyncio.create_task(run_streaming(ctx, stop, sender.deliver_soon, kafka, stream_ready),
                                             name="alert-streaming"))
        else:
            stream_ready.set()
        waiter = asyncio.create_task(stream_ready.wait())
        await asyncio.wait({waiter, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        if ready is not None and stream_ready.is_set():
            ready.set()
        log.info("alerter %s running (streaming=%s)", ctx.holder, settings.streaming)
        stop_task = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({stop_task, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(t, timeout=30)
        for t in done:
            if t is not stop_task and not t.cancelled() and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
    finally:
        await client.close()
