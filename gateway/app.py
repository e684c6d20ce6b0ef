"""The gateway's HTTP layer: routes, status codes and headers. Decisions live in the modules it calls.

Order of checks on ``POST /ingest`` (cheapest refusal first, so abuse costs us little):
draining (503) → concurrency (503) → auth (401/403, 503 if keys cannot be looked up) →
Content-Type/Encoding (415) → declared length (413) → Kafka and backpressure (503) → empty
rate bucket (429) — all of these also answer ``Expect: 100-continue`` — then the streamed,
capped body read (400/413/408) → parse (400/413) → rate limit in events (429) → validation
(400/413 strict, 202 partial) → produce and wait for every ack (202, or 503).

Why one module of ~450 lines: the order of those checks is the contract, and reads best in one
place; the decisions are in plain modules (auth, ratelimit, decompress, validate, door).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from gateway.auth import KeyCache, client_address, parse_networks
from gateway.decompress import (
    CappedDecompressor,
    DecompressError,
    normalize_encoding,
    read_capped,
)
from gateway.lag import LagMonitor
from gateway.metrics import CONTENT_TYPE, GatewayMetrics
from gateway.metrics_access import check_metrics_peer
from gateway.produce import EventProducer, KafkaUnavailable, RecordError
from gateway.protocols import register_protocols
from gateway.ratelimit import ConcurrencyLimiter, KeyRateLimiter, retry_after_header
from gateway.retry_ids import body_digest
from gateway.settings import GatewaySettings
from gateway.state import STATE, GatewayState, metrics_middleware, route_name
from gateway.validate import (
    BatchError,
    BatchResult,
    KeyContext,
    ParsedEntry,
    ValidationLimits,
    check_content_type,
    parse_batch,
    validate_batch,
)
from logharbor import quiet_client_errors
from logharbor.config import KafkaSettings, OpenSearchSettings
from opensearch.audit import AuditWriter, audit_record
from opensearch.client import async_client
from opensearch.keys import KeyRecord, KeyStore, Verdict

log = logging.getLogger(__name__)
MAX_IDEMPOTENCY_KEY = 200


def problem(status: int, message: str, *, retry_after: str | None = None, **extra: Any) -> web.Response:
    """Every error body has the same shape: ``{"error": message, "status": status, ...}``."""
    headers = {"Retry-After": retry_after} if retry_after else None
    body = orjson.dumps({"error": message, "status": status, **extra})
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


async def _read_body(request: web.Request, state: GatewayState, encoding: str) -> tuple[bytes, int]:
    """Stream the body through the capped decompressor; (decoded bytes, wire bytes)."""
    settings = state.settings
    dec = CappedDecompressor(encoding, state.decompress_limits)
    return await read_capped(request.content, dec, max_wire=settings.max_batch_bytes,
                             timeout_s=settings.body_timeout_s)


def _client_ip(request: web.Request) -> str | None:
    state = request.app[STATE]
    return client_address(request.remote, request.headers.get("X-Forwarded-For"), state.trusted_proxies)


async def ingest(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    s = state.settings
    m = state.metrics
    if state.draining:
        return problem(503, "gateway is shutting down; retry on another instance", retry_after="1")
    if not state.concurrency.try_acquire():
        m.rate_limited.labels("concurrency").inc()
        return problem(
            503,
            f"gateway is at its limit of {s.max_concurrent_requests} concurrent requests; retry shortly",
            retry_after=str(s.retry_after_s),
        )
    m.in_flight.inc()
    try:
        return await _ingest(request, state)
    finally:
        m.in_flight.dec()
        state.concurrency.release()


@dataclass(slots=True)
class _Admitted:
    """What the header checks established, for the body phase."""

    record: KeyRecord
    kind: str
    encoding: str


_ADMITTED = "lh_admitted"


async def _authenticate(request: web.Request, state: GatewayState) -> tuple[Verdict, str | None]:
    """Verify once per request (the Expect handler and the handler share it) and audit it."""
    cached = request.get("lh_auth")
    if cached is not None:
        return cached
    assert state.keys is not None
    verdict, key_id = await state.keys.verify(request.headers.get("Authorization"), "ingest")
    if state.audit is not None:
        state.audit.record(
            audit_record(
                action="ingest.auth",
                outcome=verdict.outcome,
                key_id=key_id,
                client_ip=_client_ip(request),
                tenant=verdict.record.tenant if verdict.record else None,
                status=verdict.status if not verdict.ok else None,
                path=request.path,
            )
        )
    if not verdict.ok:
        state.metrics.auth_failures.labels(verdict.outcome).inc()
    request["lh_auth"] = (verdict, key_id)
    return verdict, key_id


async def _precheck(request: web.Request, state: GatewayState) -> web.Response | _Admitted:
    """Every refusal decidable from the headers alone, before a byte of body is read."""
    s, m = state.settings, state.metrics
    if state.draining:
        return problem(503, "gateway is shutting down; retry on another instance", retry_after="1")
    verdict, _ = await _authenticate(request, state)
    if not verdict.ok:
        retry = str(s.kafka_unavailable_retry_after_s) if verdict.status == 503 else None
        return problem(verdict.status, verdict.message, retry_after=retry)
    record = verdict.record
    assert record is not None
    try:
        kind = check_content_type(request.headers.get("Content-Type"))
        encoding = normalize_encoding(request.headers.get("Content-Encoding"))
    except (BatchError, DecompressError) as exc:
        return problem(exc.status, str(exc))
    if request.content_length is not None and request.content_length > s.max_batch_bytes:
        # not force-closed: aiohttp drains the unread body for at most lingering_time (10 s),
        # discarding it, so the client can read this answer instead of a connection reset
        return problem(
            413, f"body: {request.content_length} bytes exceeds the batch limit of {s.max_batch_bytes} bytes"
        )
    if not state.producer.ready:
        return problem(
            503,
            f"Kafka is unavailable ({state.producer.last_error}); nothing was accepted, retry later",
            retry_after=str(s.kafka_unavailable_retry_after_s),
        )
    if state.lag.over:
        m.rate_limited.labels("backpressure").inc()
        return problem(
            503,
            f"pipeline is behind: consumer lag {state.lag.lag} exceeds {s.max_consumer_lag}; retry later",
            retry_after=str(s.kafka_unavailable_retry_after_s),
        )
    # an empty bucket refuses now instead of after reading, inflating and parsing the body
    wait = state.limiter.wait_for_one(record.key_id, record.rate, record.burst)
    if wait > 0:
        m.rate_limited.labels("key_rate").inc()
        return _rate_limited(state, record, wait, None)
    return _Admitted(record=record, kind=kind, encoding=encoding)


def _rate_limited(state: GatewayState, record: KeyRecord, wait: float, n: int | None) -> web.Response:
    s = state.settings
    rate = record.rate or s.default_rate
    burst = record.burst or s.default_burst
    what = f"this batch of {n} events fits in {wait:.2f} s" if n is not None else f"retry in {wait:.2f} s"
    return problem(
        429,
        f"rate limit for key {record.key_id}: {rate:g} events/s, burst {burst:g}; {what}",
        retry_after=retry_after_header(wait, s.retry_after_s),
    )


async def expect_continue(request: web.Request) -> web.Response | None:
    """``Expect: 100-continue``: refuse from the headers before the client sends the body.

    Mirrors aiohttp's default handler, with the header checks in front, so curl-style clients
    learn about a bad key or an oversize body without uploading it.
    """
    if request.version < (1, 1):
        return None
    expect = request.headers.get("Expect", "")
    if expect.lower() != "100-continue":
        return problem(417, f"Expect: {expect!r} is not supported (only 100-continue)")
    state = request.app[STATE]
    checked = await _precheck(request, state)
    if isinstance(checked, web.Response):
        state.metrics.requests.labels(route_name(request), str(checked.status)).inc()
        return checked
    request[_ADMITTED] = checked
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    request.writer.output_size = 0  # the 100 is not part of the response body
    return None


async def _ingest(request: web.Request, state: GatewayState) -> web.StreamResponse:
    s, m = state.settings, state.metrics
    checked = request.get(_ADMITTED) or await _precheck(request, state)
    if isinstance(checked, web.Response):
        return checked
    record, kind, encoding = checked.record, checked.kind, checked.encoding

    idem = request.headers.get("Idempotency-Key")
    if idem is not None and (not idem.strip() or len(idem) > MAX_IDEMPOTENCY_KEY):
        return problem(400, f"Idempotency-Key: must be 1-{MAX_IDEMPOTENCY_KEY} characters")

    try:
        body, wire = await _read_body(request, state, encoding)
    except DecompressError as exc:
        # the unread rest is drained without decoding (bounded by aiohttp's lingering_time)
        return problem(exc.status, str(exc))
    except TimeoutError:
        response = problem(408, f"body: not received within {s.body_timeout_s:g} s")
        response.force_close()
        return response
    m.bytes_in.observe(wire)
    m.bytes_decoded.observe(len(body))

    try:
        limits = state.validation_limits
        entries = parse_batch(body, kind, limits)
    except BatchError as exc:
        return problem(exc.status, str(exc))
    # the memo key of this body, for the rare resend after a partial write: hashed only when the
    # memo holds something to recall or a partial write must be remembered (blake2b was
    # 0.2 µs per event); the body is kept for that until the answer
    digest: bytes | None = None

    wait = state.limiter.check(record.key_id, len(entries), record.rate, record.burst)
    if wait > 0:
        m.rate_limited.labels("key_rate").inc()
        return _rate_limited(state, record, wait, len(entries))

    key = KeyContext(
        key_id=record.key_id,
        tenant=record.tenant,
        source=record.source,
        environment=record.environment,
        audit=bool(record.audit),
    )
    result = await _validate_yielding(entries, key, idem, limits)
    m.events_rejected.inc(len(result.rejected))
    if result.rejected and (s.policy == "strict" or not result.envelopes):
        # strict: one bad entry refuses the batch; partial: a batch with no acceptable entry is a 400
        # too (a 202 with nothing accepted would make a shipper delete what it can never deliver)
        too_large = any(" bytes exceeds the limit of " in e for r in result.rejected for e in r["errors"])
        why = "strict policy" if result.envelopes else "no entry is acceptable"
        return problem(
            413 if too_large else 400,
            f"{len(result.rejected)} of {len(entries)} entries are invalid; nothing was accepted ({why})",
            rejected=result.rejected[:1000],
        )
    if result.envelopes:
        accepted_at = _accepted_indices(len(entries), result)
        remembered = None
        if state.retry_ids:
            digest = body_digest(record.key_id, body)
            remembered = state.retry_ids.recall(digest)
        if remembered:  # an identical resend of a batch Kafka took in part: same ids → duplicates dropped
            for i, env in zip(accepted_at, result.envelopes, strict=True):
                env.id = remembered.get(i, env.id)
        try:
            await state.producer.send_all(result.envelopes, record.source.encode())
        except RecordError as exc:
            return problem(400, f"entry {accepted_at[exc.position]}: {exc}; nothing was accepted")
        except KafkaUnavailable as exc:
            if digest is None:
                digest = body_digest(record.key_id, body)
            return _kafka_failed(state, exc, digest, accepted_at, result, stable=bool(idem))
        if remembered and digest is not None:
            state.retry_ids.forget(digest)
    m.events_accepted.inc(len(result.envelopes))
    payload = {"accepted": len(result.envelopes), "rejected": result.rejected}
    return web.Response(status=202, body=orjson.dumps(payload), content_type="application/json")


def _accepted_indices(n: int, result: BatchResult) -> list[int]:
    """Entry index of each envelope (envelopes keep entry order; rejects name theirs)."""
    if not result.rejected:
        return list(range(n))
    rejected = {r["index"] for r in result.rejected}
    return [i for i in range(n) if i not in rejected]


def _kafka_failed(
    state: GatewayState,
    exc: KafkaUnavailable,
    digest: bytes,
    accepted_at: list[int],
    result: BatchResult,
    *,
    stable: bool,
) -> web.Response:
    """503 after a failed produce; say whether part of the batch was written and why a retry is safe.

    Nothing written: plainly retryable. Part written: the written records' ids make the retry
    a duplicate the pipeline drops (409 on ``op_type=create``) — client ids and
    Idempotency-Key ids are stable anyway, minted ids are remembered for an identical resend.
    """
    s = state.settings
    total = len(result.envelopes)
    if exc.written == 0:
        how = "nothing of this batch was written; retry it"
    else:
        state.metrics.partial_writes.inc()
        if not stable:
            state.retry_ids.remember(digest, {i: env.id for i, env in zip(accepted_at, result.envelopes, strict=True)})
        how = (
            f"{exc.written} of {total} records were written before the failure; they carry ids that make "
            "a resend of this same batch a duplicate the pipeline drops, so retry it unchanged"
        )
    return problem(503, f"{exc}; {how}", retry_after=str(s.kafka_unavailable_retry_after_s))


_VALIDATE_SLICE = 2000


async def _validate_yielding(
    entries: list[ParsedEntry], key: KeyContext, idem: str | None, limits: ValidationLimits
) -> BatchResult:
    """Validate in slices, yielding to the loop between them.

    A 100,000-event batch is ~2 s of CPU; in one piece it would stall every other request
    on this process (health checks included) for that long.
    """
    if len(entries) <= _VALIDATE_SLICE:
        return validate_batch(entries, key, idempotency_key=idem, limits=limits)
    result = BatchResult()
    for start in range(0, len(entries), _VALIDATE_SLICE):
        part = validate_batch(entries[start : start + _VALIDATE_SLICE], key, idempotency_key=idem, limits=limits)
        result.envelopes.extend(part.envelopes)
        result.rejected.extend(part.rejected)
        await asyncio.sleep(0)
    return result


async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers. Use /ready for dependencies. The pid tells workers apart."""
    return web.json_response({"status": "ok", "pid": os.getpid()})


async def ready(request: web.Request) -> web.Response:
    """Readiness: Kafka and OpenSearch reachable (cached for 1 s so probes cannot stampede)."""
    state = request.app[STATE]
    at, ok, detail = state.ready_cache
    if time.monotonic() - at > 1.0:
        detail = {}
        kafka_ok = await state.producer.check()
        detail["kafka"] = "ok" if kafka_ok else f"unreachable ({state.producer.last_error or 'no metadata'})"
        try:
            os_ok = bool(await asyncio.wait_for(state.os_client.ping(), 2.0))
        except Exception as exc:
            os_ok = False
            detail["opensearch"] = f"unreachable ({type(exc).__name__})"
        else:
            detail["opensearch"] = "ok" if os_ok else "unreachable"
        if state.draining:
            detail["gateway"] = "draining"
        ok = kafka_ok and os_ok and not state.draining
        state.ready_cache = (time.monotonic(), ok, detail)
    status = 200 if ok else 503
    headers = None if ok else {"Retry-After": "5"}
    return web.json_response({"ready": ok, "checks": detail}, status=status, headers=headers)


async def metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    check_metrics_peer(request, state.settings.metrics_allow)
    if state.audit is not None:
        state.metrics.audit_dropped.set(state.audit.dropped)
    return web.Response(body=state.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


async def _on_startup(app: web.Application) -> None:
    state = app[STATE]
    state.os_client = async_client(state.opensearch)
    store = KeyStore(state.os_client)
    state.keys = KeyCache(store.all_by_id, store.get, refresh_s=state.settings.key_refresh_s)
    await state.keys.start()
    state.audit = AuditWriter(
        state.os_client, flush_s=state.settings.audit_flush_s, max_buffer=state.settings.audit_max_buffer
    )
    state.audit.start()
    await state.producer.start()
    state.lag.start()


async def _on_shutdown(app: web.Application) -> None:
    app[STATE].draining = True


async def _on_cleanup(app: web.Application) -> None:
    """Runs after in-flight requests finished: flush the producer, then close the rest."""
    state = app[STATE]
    await state.producer.stop()
    await state.lag.stop()
    if state.keys is not None:
        await state.keys.close()
    if state.audit is not None:
        await state.audit.close()
    if state.os_client is not None:
        await state.os_client.close()


def create_app(
    settings: GatewaySettings | None = None,
    *,
    kafka: KafkaSettings | None = None,
    opensearch: OpenSearchSettings | None = None,
    topic: str | None = None,
) -> web.Application:
    """The gateway as an aiohttp Application (``logharbor run`` mounts or runs it)."""
    settings = settings or GatewaySettings()
    kafka = kafka or KafkaSettings()
    metrics_ = GatewayMetrics()
    state = GatewayState(
        settings=settings,
        kafka=kafka,
        opensearch=opensearch or OpenSearchSettings(),
        metrics=metrics_,
        producer=EventProducer(kafka, settings, metrics_, topic=topic),
        lag=LagMonitor(kafka, settings, metrics_, topic=topic),
        limiter=KeyRateLimiter(settings.default_rate, settings.default_burst),
        concurrency=ConcurrencyLimiter(settings.max_concurrent_requests),
    )
    state.trusted_proxies = parse_networks(settings.trusted_proxies)
    quiet_client_errors.install()  # malformed HTTP from a client: one log line, no traceback (issue 16)
    app = web.Application(middlewares=[metrics_middleware])
    app[STATE] = state
    app.router.add_post("/ingest", ingest, expect_handler=expect_continue)
    app.router.add_post("/api/v1/ingest", ingest, expect_handler=expect_continue)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    app.on_startup.append(_on_startup)
    app.on_shutdown.append(_on_shutdown)
    app.on_cleanup.append(_on_cleanup)
    register_protocols(app)  # /es, /v1/logs, /gelf and the listeners (issue 18), all through gateway/door.py
    return app
