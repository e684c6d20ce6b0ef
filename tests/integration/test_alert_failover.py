"""Two ``logharbor alerter`` processes for the same rule: exactly one notification per transition,
and SIGKILL of the lease holder mid-incident → the other takes over; nothing missed, nothing doubled.

Events are indexed straight into the tenant's data stream (the evaluator reads OpenSearch; the
pipeline's part is covered by test_alert_end_to_end.py), with the clock watermark.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alert_support import Receivers, cleanup_alerting
from test_pipeline import delete_streams, templates_fixture  # noqa: F401  (fixture "templates")

from alerting import manage
from alerting.evaluator import Context
from alerting.settings import AlertingSettings
from logharbor.config import OpenSearchSettings
from opensearch.alerts_store import LEASES
from opensearch.client import async_client

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
ENV = {"LOGHARBOR_ALERTING_WATERMARK": "clock", "LOGHARBOR_ALERTING_TICK_S": "0.3",
       "LOGHARBOR_ALERTING_LEASE_TTL_S": "3", "LOGHARBOR_ALERTING_STREAMING": "false",
       "LOGHARBOR_ALERTING_SETTLE_S": "0.3",
       "LOGHARBOR_ALERTING_SENDER_POLL_S": "0.3", "LOGHARBOR_ALERTING_CLAIM_S": "3",
       "LOGHARBOR_ALERTING_REFRESH_INTERVAL_S": "0.2", "PYTHONUNBUFFERED": "1"}


def start_alerter(tenant: str) -> tuple[subprocess.Popen, Path]:
    log = Path(tempfile.mkstemp(prefix="lh-alerter-", suffix=".log")[1])
    env = {**os.environ, **ENV, "LOGHARBOR_ALERTING_TENANTS": f'["{tenant}"]'}
    proc = subprocess.Popen([sys.executable, "-m", "ops.cli", "alerter"], cwd=REPO, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return proc, log


def text(log: Path) -> str:
    return log.read_text(errors="replace")


async def wait_ready(proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while "logharbor alerter: ready" not in text(log):
        assert proc.poll() is None, text(log)[-3000:]
        assert time.monotonic() < deadline, "alerter not ready"
        await asyncio.sleep(0.2)


async def emit_errors(client, tenant: str, seconds: float) -> None:
    """Index ERROR events stamped "now" for ``seconds`` (the condition holds meanwhile)."""
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = []
        for _ in range(3):
            i += 1
            body += [{"create": {"_index": f"logs-{tenant}-standard"}},
                     {"@timestamp": ts, "log": {"level": "ERROR"}, "message": f"boom {i}"}]
        resp = await client.bulk(body=body, refresh="true")
        assert not resp["errors"], resp
        await asyncio.sleep(0.3)


async def transitions(receivers: Receivers) -> list[str]:
    return [r.json()["transition"] for r in receivers.at("/hook")]


async def wait_transitions(receivers: Receivers, n: int, within_s: float = 40) -> list[str]:
    await receivers.wait("/hook", n, within_s=within_s)
    return await transitions(receivers)


async def test_two_evaluators_one_notification_per_transition_and_failover(templates, os_url, os_client, unique_tenant):
    client = async_client(OpenSearchSettings(url=os_url))
    ctx = Context(client, AlertingSettings())
    receivers = await Receivers().start()
    procs = [start_alerter(unique_tenant), start_alerter(unique_tenant)]
    rule = None
    try:
        for p, log in procs:
            await wait_ready(p, log)
        rule = await manage.create_rule(ctx, unique_tenant, {
            "name": "errors", "query": "level:ERROR", "schedule": {"every": "1s"},
            "condition": {"type": "count", "op": ">", "threshold": 0, "window": "2s"},
            "channels": [{"type": "webhook", "url": receivers.url("/hook"), "secret": "s"}]})
        await emit_errors(client, unique_tenant, 4)
        assert await wait_transitions(receivers, 1) == ["firing"]
        # Kill the lease holder while the incident is open, then let the condition clear.
        lease = (await client.get(index=LEASES, id=rule["id"]))["_source"]
        holder_pid = int(lease["holder"].split(":")[1])
        victim = next(p for p, _ in procs if p.pid == holder_pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        assert await wait_transitions(receivers, 2) == ["firing", "resolved"]
        new_lease = (await client.get(index=LEASES, id=rule["id"]))["_source"]
        assert new_lease["holder"] != lease["holder"] and new_lease["epoch"] == lease["epoch"] + 1
        # The survivor carries on: a second incident, fired and resolved once.
        await emit_errors(client, unique_tenant, 3)
        assert await wait_transitions(receivers, 3) == ["firing", "resolved", "firing"]
        assert await wait_transitions(receivers, 4) == ["firing", "resolved", "firing", "resolved"]
        await asyncio.sleep(4)
        assert await transitions(receivers) == ["firing", "resolved", "firing", "resolved"]
        keys = [r.headers["Idempotency-Key"] for r in receivers.at("/hook")]
        assert len(set(keys)) == 4
        bodies = [r.json() for r in receivers.at("/hook")]
        assert bodies[0]["dedup_key"] == bodies[1]["dedup_key"] != bodies[2]["dedup_key"] == bodies[3]["dedup_key"]
    finally:
        for p, _ in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p, log in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
            with contextlib.suppress(OSError):
                log.unlink()
        if rule:
            with contextlib.suppress(Exception):
                await client.delete(index=LEASES, id=rule["id"])
        await cleanup_alerting(client, unique_tenant)
        await receivers.stop()
        await client.close()
        delete_streams(os_client, unique_tenant)
