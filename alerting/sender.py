"""The sender: outbox entries → channels, with retries, backoff, ``Retry-After`` and a delivery log.

An entry is claimed with compare-and-set (status ``sending``, ``claim_until``) so one sender
delivers it; each channel's outcome is kept on the entry, so a retry re-sends only the channels
that failed. Every attempt is a document in ``.logharbor-alerts-deliveries`` (shown in the UI's
history). Retries back off exponentially (``backoff_initial_s`` doubling to ``backoff_max_s``)
and never come back sooner than a receiver's ``Retry-After``; 4xx other than 408/429 is
permanent. Delivery is at least once on the wire (a sender dying between the receiver's 2xx
and the write-back resends after the claim expires), which the webhook ``Idempotency-Key`` and
PagerDuty's ``dedup_key`` absorb.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp

from alerting.channels import DeliveryError, SendContext, send
from alerting.evaluator import Context
from alerting.rules import Rule

log = logging.getLogger(__name__)


def backoff_s(attempt: int, initial: float, maximum: float) -> float:
    """Delay before attempt ``attempt + 1`` (attempt counts from 1)."""
    return min(maximum, initial * (2 ** max(0, attempt - 1)))


class Sender:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.wake = asyncio.Event()
        self.sent = 0
        self.failed = 0
        self._session: aiohttp.ClientSession | None = None
        self._inflight: set[str] = set()
        self._tasks: set[asyncio.Task] = set()

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        for t in list(self._tasks):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(t, timeout=self.ctx.settings.send_timeout_s + 5)
        if self._session is not None:
            await self._session.close()

    def deliver_soon(self, entry: dict[str, Any], version: tuple[int, int]) -> None:
        """Deliver an entry this process has already claimed (streaming path: no poll delay)."""
        task = asyncio.create_task(self.deliver(entry, version))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def poll_once(self) -> int:
        """Claim and deliver every due entry; returns how many were attempted."""
        now = self.ctx.now()
        due = await self.ctx.outbox.due(now)
        n = 0
        for entry, version in due:
            if entry["key"] in self._inflight:
                continue
            claimed = dict(entry, status="sending", claimed_by=self.ctx.holder,
                           claim_until=now + int(self.ctx.settings.claim_s * 1000))
            v = await self.ctx.outbox.save(claimed, version)
            if v is None:
                continue  # another sender won
            n += 1
            self.deliver_soon(claimed, v)
        return n

    async def _rule(self, entry: dict[str, Any]) -> Rule | None:
        doc = await self.ctx.rules.get(entry["tenant"], entry["rule_id"])
        return Rule.model_validate(doc) if doc else None

    async def deliver(self, entry: dict[str, Any], version: tuple[int, int]) -> None:
        key = entry["key"]
        self._inflight.add(key)
        try:
            await self._deliver(entry, version)
        except Exception:
            log.exception("delivering %s failed", key)
        finally:
            self._inflight.discard(key)

    async def _deliver(self, entry: dict[str, Any], version: tuple[int, int]) -> None:
        s = self.ctx.settings
        rule = await self._rule(entry)
        n = entry["notification"]
        retry_after: float | None = None
        if rule is None:
            for ch in entry["channels"]:
                ch["status"] = "failed"
            entry["reason"] = "the rule was deleted"
        else:
            ctx = SendContext(await self.session(), s)
            for ch in entry["channels"]:
                if ch["status"] in ("sent", "failed"):
                    continue
                if ch["index"] >= len(rule.channels):
                    ch["status"] = "failed"
                    continue
                channel = rule.channels[ch["index"]]
                ch["attempts"] = ch.get("attempts", 0) + 1
                t0 = time.perf_counter()
                ok, detail, status_code = True, "", None
                try:
                    detail = await send(channel, n, ctx)
                    ch["status"] = "sent"
                except DeliveryError as exc:
                    ok, detail, status_code = False, str(exc), exc.status
                    if exc.permanent or ch["attempts"] >= s.max_attempts:
                        ch["status"] = "failed"
                    else:
                        ch["status"] = "retry"
                        if exc.retry_after is not None:
                            retry_after = max(retry_after or 0.0, exc.retry_after)
                ch["last"] = detail[:300]
                with contextlib.suppress(Exception):
                    await self.ctx.outbox.log_attempt({
                        "key": entry["key"], "tenant": entry["tenant"], "rule_id": entry["rule_id"],
                        "transition": entry["transition"], "group": entry["group"], "channel": channel.type,
                        "channel_index": ch["index"], "attempt": ch["attempts"], "ok": ok, "detail": detail[:300],
                        "http_status": status_code, "at": self.ctx.now(),
                        "duration_ms": round((time.perf_counter() - t0) * 1000, 1)})
        statuses = {ch["status"] for ch in entry["channels"]}
        entry["attempts"] = entry.get("attempts", 0) + 1
        now = self.ctx.now()
        if statuses <= {"sent"}:
            entry["status"], entry["sent_at"] = "sent", now
            self.sent += 1
        elif "retry" in statuses:
            delay = backoff_s(entry["attempts"], s.backoff_initial_s, s.backoff_max_s)
            if retry_after is not None:
                delay = max(delay, retry_after)
            entry["status"], entry["next_attempt_at"] = "pending", now + int(delay * 1000)
        else:
            entry["status"] = "failed" if "sent" not in statuses else "partial"
            self.failed += 1
        entry.pop("claimed_by", None)
        entry.pop("claim_until", None)
        if await self.ctx.outbox.save(entry, version, refresh=True) is None:
            log.warning("outbox entry %s changed while being delivered", entry["key"])

    async def prune(self) -> None:
        """Forget history older than ``history_days`` (sent/failed/suppressed entries and attempts)."""
        from opensearch.alerts_store import DELIVERIES, OUTBOX

        cutoff = self.ctx.now() - self.ctx.settings.history_days * 86_400_000
        done = {"bool": {"must_not": [{"terms": {"status": ["pending", "sending"]}}]}}
        for index, query in ((OUTBOX, {"bool": {"filter": [{"range": {"created_at": {"lt": cutoff}}}, done]}}),
                             (DELIVERIES, {"range": {"at": {"lt": cutoff}}})):
            await self.ctx.client.delete_by_query(index=index, body={"query": query},
                                                  params={"conflicts": "proceed", "ignore_unavailable": "true"})

    async def run(self, stop: asyncio.Event) -> None:
        from opensearch.alerts_store import ensure_indices

        await ensure_indices(self.ctx.client)
        last_prune = 0.0
        while not stop.is_set():
            try:
                await self.poll_once()
            except Exception:
                log.exception("sender poll failed")
            if time.monotonic() - last_prune > 3600:
                last_prune = time.monotonic()
                with contextlib.suppress(Exception):
                    await self.prune()
            self.wake.clear()
            waits = [asyncio.create_task(stop.wait()), asyncio.create_task(self.wake.wait())]
            await asyncio.wait(waits, timeout=self.ctx.settings.sender_poll_s,
                                            return_when=asyncio.FIRST_COMPLETED)
            for t in waits:
                t.cancel()
        await self.close()
