"""Sending batches to the gateway: retries, failover, spool, dead letters, resends.

The decision per answer lives in :mod:`shipper.answers` (pure functions); this module does the
I/O around it:

- ``DELIVERED`` (2xx): per-entry ``rejected`` items are kept in ``rejected/`` and counted.
- ``SPLIT`` (413): the batch is split in halves and each half sent; a single event that is still
  too large is refused.
- ``RETRY`` (408, 429, 5xx, connection errors, timeouts): retried on the ``retry.delays_s``
  schedule with jitter (tenacity), waiting exactly ``Retry-After`` when the gateway gives one;
  connection errors and 5xx also fail over to the next URL. When the schedule is used up the
  batch goes to the disk spool, the gateway is marked down, and later batches are spooled
  directly until the background resender gets a 202 again (every ``spool.resend_interval_s``,
  and at once when a ``/health`` probe answers).
- ``POISON`` (400) and ``REFUSED`` (other 4xx): the gateway will never accept it; the batch and
  the answer go to ``rejected/`` (the dead-letter files) and are counted, never resent.

Only after one of those outcomes is durable does the batch count as done, and only then do
its sources commit checkpoints (in batch order, see :class:`CommitSequencer`).

Why one module of ~450 lines: delivery, spool resend and probes share the up/down state and the
in-flight limits; the decisions themselves are in ``shipper/answers.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from shipper.answers import Action, action_for, fails_over, gives_up, retry_delay
from shipper.batcher import Batch, Batcher
from shipper.checkpoint import atomic_write
from shipper.config import ShipperConfig
from shipper.event import Event
from shipper.http import HttpConnection, HttpError
from shipper.metrics import Metrics
from shipper.spool import Spool

log = logging.getLogger("logharbor.shipper.sender")


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    retry_after: float | None
    url: str


class TransientError(Exception):
    """Worth retrying (connection trouble, 408, 429, 5xx)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class GiveUp(Exception):
    """The retry schedule is used up (or the shipper is stopping): spool the batch."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after  # set when the gateway is up but asked us to wait (429/503)


class _TooLarge(Exception):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer


class _Refused(Exception):
    """A 4xx other than 413: dead-letter the batch (``action`` says POISON or REFUSED)."""

    def __init__(self, answer: Answer, action: Action) -> None:
        self.answer = answer
        self.action = action


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class GatewayClient:
    """POSTs to the preferred reachable gateway URL; returns to the first one when it recovers."""

    def __init__(self, urls: list[str], api_key: str, timeout_s: float, ca_file: str | None = None,
                 tls_verify: bool = True) -> None:
        self.urls = urls
        self.active = 0
        self._api_key = api_key
        self._conns = [HttpConnection(u, timeout_s, ca_file, tls_verify) for u in urls]
        # Probes have their own connections so they never queue behind a POST.
        self._probes = [HttpConnection(u, min(timeout_s, 3.0), ca_file, tls_verify) for u in urls]

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for conn in self._conns + self._probes:
            conn.close()

    def _fail_over(self) -> None:
        if len(self.urls) > 1:
            self.active = (self.active + 1) % len(self.urls)
            log.warning("failing over to next gateway", extra={"url": self.urls[self.active]})

    async def post(self, body_gz: bytes, batch_id: str) -> Answer:
        index = self.active
        url = self.urls[index]
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Content-Type": "application/x-ndjson",
            "Content-Encoding": "gzip",
            "Idempotency-Key": batch_id,
        }
        try:
            resp = await self._conns[index].request("POST", "/ingest", body_gz, headers)
        except HttpError as exc:
            self._fail_over()  # no answer at all: fails_over(None)
            raise TransientError(f"{url}: {exc}") from exc
        answer = Answer(resp.status, resp.body, parse_retry_after(resp.headers.get("retry-after")), url)
        if fails_over(answer.status):
            self._fail_over()
        return answer

    async def probe(self, index: int) -> bool:
        """True if ``GET /health`` on urls[index] answers 2xx."""
        try:
            resp = await self._probes[index].request("GET", "/health")
        except HttpError:
            return False
        return resp.status < 300


class CommitSequencer:
    """Applies source commits in batch order, so a checkpoint never passes an undelivered batch."""

    def __init__(self) -> None:
        self._next = 1
        self._done: dict[int, list[Event] | None] = {}
        self._broken = False

    def complete(self, seq: int, events: list[Event], durable: bool) -> None:
        self._done[seq] = events if durable else None
        while self._next in self._done and not self._broken:
            done = self._done.pop(self._next)
            if done is None:
                self._broken = True  # nothing after an undelivered batch may be committed
                break
            # Only the last position per source (and per file) matters: positions only grow
            # within a batch, and a file reset makes older positions void anyway.
            last: dict[tuple[int, Any], tuple[Any, Any]] = {}
            for event in done:
                source = event.source
                if source is not None:
                    token = event.token
                    last[(id(source), token[0] if type(token) is tuple else None)] = (source, token)
            for source, token in last.values():
                source.commit(token)
            self._next += 1


class Sender:
    """Delivers batches from the batcher; runs the spool resender and gateway probes."""

    def __init__(self, cfg: ShipperConfig, client: GatewayClient, spool: Spool, metrics: Metrics,
                 on_done: Callable[[int, list[Event], bool], None]) -> None:
        self._cfg = cfg
        self.client = client
        self.spool = spool
        self._metrics = metrics
        self._on_done = on_done
        self._rejected_dir = cfg.data_dir / "rejected"
        # Network sends in flight per destination (new batches and spool resends share it) ...
        self._inflight = asyncio.Semaphore(cfg.batch.in_flight)
        # ... and batches taken from the batcher but not yet durable. Separate, so a batch waiting
        # for spool room never blocks the resender that would make room, while the batcher still
        # stops being drained (backpressure reaches the file tails).
        self._outstanding = asyncio.Semaphore(cfg.batch.in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()
        self._wake_resender = asyncio.Event()
        self.down = False
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.last_success_at: float | None = None
        metrics.set("gateway_up", 1)

    # ------------------------------------------------------------------ state

    def _set_down(self, reason: str) -> None:
        if not self.down:
            log.error("gateway unreachable; spooling to disk", extra={"error": reason})
        self.down = True
        self._metrics.set("gateway_up", 0)

    def _set_up(self) -> None:
        if self.down:
            log.info("gateway answers again; resending spool", extra={"spooled": len(self.spool)})
            self._wake_resender.set()
        self.down = False
        self._metrics.set("gateway_up", 1)
        self.last_success_at = time.time()

    def _error(self, message: str) -> None:
        self.last_error = message
        self.last_error_at = time.time()

    # ------------------------------------------------------------------ main loop

    async def run(self, batcher: Batcher) -> None:
        """Deliver every batch until the batcher is closed and drained."""
        while (batch := await batcher.next_batch()) is not None:
            await self._outstanding.acquire()
            task = asyncio.create_task(self._deliver_batch(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _deliver_batch(self, batch: Batch) -> None:
        durable = False
        try:
            body_gz = batch.gzip(self._cfg.batch.gzip_level)
            if not self.down:
                try:
                    async with self._inflight:
                        await self._send(batch.body, body_gz, batch.id, len(batch.events))
                    durable = True
                except GiveUp as exc:
                    self._set_down(str(exc))
            if not durable:
                entry = await self.spool.put(body_gz, batch.id, len(batch.events), batch.lossy, self.stopping)
                durable = entry is not None or batch.lossy  # a dropped lossy batch is counted, not retried
        except Exception:  # a bug must not wedge the pipeline silently
            log.exception("batch delivery failed", extra={"batch_id": batch.id})
        finally:
            self._outstanding.release()
            self._on_done(batch.seq, batch.events, durable)

    # ------------------------------------------------------------------ one batch

    def _stop_retrying(self, state: RetryCallState) -> bool:
        return gives_up(state.attempt_number, len(self._cfg.retry.delays_s), self.stopping.is_set())

    def _wait(self, state: RetryCallState) -> float:
        retry = self._cfg.retry
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        return retry_delay(state.attempt_number, retry_after, retry.delays_s, retry.jitter, retry.max_retry_after_s,
                           random.uniform(-1.0, 1.0))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        self._metrics.inc("batches_retried_total")
        log.warning("send failed; retrying", extra={"attempt": state.attempt_number, "error": str(exc),
                                                     "sleep_s": round(state.upcoming_sleep, 3)})

    async def _attempt(self, body_gz: bytes, batch_id: str) -> Answer:
        answer = await self.client.post(body_gz, batch_id)
        action = action_for(answer.status)
        if action is Action.DELIVERED:
            return answer
        if action is Action.SPLIT:
            raise _TooLarge(answer)
        if action is Action.RETRY:
            raise TransientError(f"{answer.url}: HTTP {answer.status} {answer.body[:200]!r}", answer.retry_after)
        raise _Refused(answer, action)

    async def _send(self, body: bytes | None, body_gz: bytes, batch_id: str, count: int,
                    retry: bool = True) -> None:
        """Deliver one batch (splitting on 413). Raises GiveUp when it must be spooled."""
        try:
            if retry:
                retrying = AsyncRetrying(stop=self._stop_retrying, wait=self._wait, sleep=self._sleep,
                                         retry=retry_if_exception_type(TransientError), reraise=True,
                                         before_sleep=self._before_sleep)
                async for attempt in retrying:
                    with attempt:
                        answer = await self._attempt(body_gz, batch_id)
            else:
                answer = await self._attempt(body_gz, batch_id)
        except TransientError as exc:
            self._error(str(exc))
            raise GiveUp(str(exc), exc.retry_after) from exc
        except _TooLarge as exc:
            self._set_up()
            if body is None:
                body = gzip.decompress(body_gz)
            lines = body.splitlines()
            if len(lines) <= 1:
                await self._reject(exc.answer, Action.REFUSED, body, batch_id, count)
                return
            self._metrics.inc("batches_split_total")
            half = len(lines) // 2
            for part in (lines[:half], lines[half:]):
                raw = b"\n".join(part) + b"\n"
                part_id = hashlib.blake2b(raw, digest_size=16).hexdigest()
                await self._send(raw, gzip.compress(raw, self._cfg.batch.gzip_level, mtime=0), part_id,
                                 len(part), retry)
            return
        except _Refused as exc:
            self._set_up()
            if body is None:
                body = gzip.decompress(body_gz)
            await self._reject(exc.answer, exc.action, body, batch_id, count)
            return
        self._set_up()
        await self._accepted(answer, body, body_gz, batch_id, count)

    async def _accepted(self, answer: Answer, body: bytes | None, body_gz: bytes, batch_id: str,
                        count: int) -> None:
        self._metrics.inc("batches_sent_total")
        rejected: list[Any] = []
        try:
            parsed = orjson.loads(answer.body) if answer.body else {}
            rejected = list(parsed.get("rejected") or []) if isinstance(parsed, dict) else []
        except orjson.JSONDecodeError:
            pass
        self._metrics.inc("events_sent_total", count - len(rejected))
        if rejected:
            if body is None:
                body = gzip.decompress(body_gz)
            lines = body.splitlines()
            picked = []
            for item in rejected:
                idx = item.get("index") if isinstance(item, dict) else None
                line = lines[idx].decode("utf-8", "replace") if isinstance(idx, int) and idx < len(lines) else None
                picked.append({"rejection": item, "event": line})
            await self._write_rejected(answer, batch_id, picked, len(rejected))

    async def _reject(self, answer: Answer, action: Action, body: bytes, batch_id: str, count: int) -> None:
        """A dead-letter file for a batch the gateway will never take (POISON or REFUSED)."""
        poison = action is Action.POISON
        log.error("gateway says the batch is invalid (poison batch); kept in rejected/, never resent" if poison
                  else "gateway refused batch; kept in rejected/",
                  extra={"status": answer.status, "batch_id": batch_id, "answer": answer.body[:500].decode(
                      "utf-8", "replace")})
        self._error(f"{answer.url}: HTTP {answer.status} {'poison' if poison else 'refused'} batch {batch_id}")
        self._metrics.inc("batches_poisoned_total" if poison else "batches_refused_total")
        events = [{"event": line.decode("utf-8", "replace")} for line in body.splitlines()]
        await self._write_rejected(answer, batch_id, events, count, action)

    async def _write_rejected(self, answer: Answer, batch_id: str, events: list[Any], count: int,
                              action: Action = Action.DELIVERED) -> None:
        self._metrics.inc("events_rejected_total", count)
        record = {"batch_id": batch_id, "status": answer.status, "url": answer.url, "action": action.value,
                  "answer": answer.body.decode("utf-8", "replace"), "at": time.time(), "events": events}
        self._rejected_dir.mkdir(parents=True, exist_ok=True)
        path = self._rejected_dir / f"{int(time.time() * 1000)}-{batch_id}.json"
        await asyncio.to_thread(atomic_write, path, orjson.dumps(record))

    # ------------------------------------------------------------------ spool resend and probes

    async def resend_loop(self) -> None:
        """Resend spooled batches oldest first: continuously while the gateway is up."""
        while not self.stopping.is_set():
            entry = self.spool.oldest()
            if entry is None:
                self.spool.changed.clear()
                await self._wait_any(self.spool.changed, None)
                continue
            if self.down:
                # Cleared after waking, not before: a probe that succeeded meanwhile is not missed.
                await self._wait_any(self._wake_resender, self._cfg.spool.resend_interval_s)
                self._wake_resender.clear()
                if self.stopping.is_set():
                    return
            busy_for: float | None = None
            async with self._inflight:
                if self.stopping.is_set():
                    return
                try:
                    body_gz = await asyncio.to_thread(self.spool.read, entry)
                    await self._send(None, body_gz, entry.batch_id, entry.events, retry=False)
                except FileNotFoundError:
                    pass
                except GiveUp as exc:
                    if exc.retry_after is None:
                        self._set_down(str(exc))
                        continue
                    busy_for = min(exc.retry_after, self._cfg.retry.max_retry_after_s)
            if busy_for is not None:  # up but busy (429/503): wait as told, without declaring it down
                await self._sleep(busy_for)
                continue
            self.spool.delete(entry)

    async def _wait_any(self, event: asyncio.Event, limit_s: float | None) -> None:
        waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(self.stopping.wait())]
        try:
            await asyncio.wait(waiters, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def probe_loop(self) -> None:
        """While down, or while off the first URL, probe /health; wake the resender on recovery."""
        interval = self._cfg.gateway.probe_interval_s
        while not self.stopping.is_set():
            await self._sleep(interval)
            if self.stopping.is_set():
                return
            client = self.client
            if client.active != 0 and await client.probe(0):
                log.info("first gateway is back; returning to it", extra={"url": client.urls[0]})
                client.active = 0
            if self.down:
                for i in range(len(client.urls)):
                    if await client.probe(i):
                        client.active = i
                        self._wake_resender.set()
                        break

    def status(self) -> dict[str, Any]:
        return {"urls": self.client.urls, "active_url": self.client.urls[self.client.active],
                "up": not self.down, "last_error": self.last_error, "last_error_at": self.last_error_at,
                "last_success_at": self.last_success_at}


def rejected_count(directory: Path) -> int:
    """Files in rejected/ (for --status)."""
    try:
        return sum(1 for p in directory.iterdir() if p.suffix == ".json")
    except OSError:
        return 0
