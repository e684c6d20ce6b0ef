"""The one door every ingest protocol goes through: key, limits, validation, Kafka acknowledgement.

``POST /ingest`` (gateway/app.py), the Elasticsearch ``_bulk`` endpoint, OTLP/HTTP, GELF and the
syslog listeners all turn what they received into event objects of the shape ``/ingest`` accepts
and hand them here. So a protocol can never skip a lock: the same key cache verifies the key
(and audits it), the same concurrency cap, Kafka/lag backpressure and per-key token bucket apply,
the same :func:`gateway.validate.validate_batch` judges every event, and success is reported only
after :meth:`EventProducer.send_all` returned, i.e. Kafka acknowledged every record (acks=all).

What differs per protocol is only how a refusal is worded on the wire, so this module returns a
:class:`Refusal` (status, message, Retry-After) and each protocol renders it in its own shape.
"""

from __future__ import annotations

import base64
import binascii
import time
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from gateway.decompress import (
    CappedDecompressor,
    DecompressError,
    TooLargeError,
    normalize_encoding,
    read_capped,
)
from gateway.produce import KafkaUnavailable, RecordError
from gateway.protocol_metrics import ProtocolMetrics
from gateway.ratelimit import retry_after_header
from gateway.validate import KeyContext, ParsedEntry, validate_batch
from opensearch.audit import audit_record
from opensearch.keys import KeyRecord

if TYPE_CHECKING:
    from gateway.state import GatewayState

PROTOCOL_METRICS = web.AppKey("protocol_metrics", ProtocolMetrics)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A whole-request refusal: HTTP status, a sentence for the operator, and Retry-After."""

    status: int
    message: str
    retry_after: str | None = None
    reason: str = "refused"


@dataclass(slots=True)
class Submitted:
    """Outcome of :func:`submit`: which positions were accepted (acked by Kafka) and which rejected."""

    accepted: list[int] = field(default_factory=list)
    rejected: dict[int, list[str]] = field(default_factory=dict)
    ids: dict[int, str] = field(default_factory=dict)


# -- credentials --------------------------------------------------------------------------------
def token_from_authorization(header: str | None) -> str | None:
    """The LogHarbor key from ``Bearer <key>``, ``ApiKey <key>`` or HTTP Basic (password, else user).

    Elasticsearch clients send ``ApiKey base64(id:key)`` or ``ApiKey <as given>``; Logstash,
    Fluent Bit and rsyslog send Basic. Whatever the wrapping, the part that looks like a
    LogHarbor key (``lh_live_…``) is the key; otherwise the raw value is passed on so the key
    check words the refusal.
    """
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    scheme = scheme.lower()
    if not value:
        return None
    if scheme == "bearer":
        return value
    if scheme == "apikey":
        if value.startswith("lh_"):
            return value
        decoded = _b64(value)
        if decoded is None:
            return value
        ident, _, secret = decoded.partition(":")
        for part in (secret, ident, decoded):
            if part.startswith("lh_"):
                return part
        return decoded
    if scheme == "basic":
        decoded = _b64(value)
        if decoded is None:
            return None
        user, _, password = decoded.partition(":")
        return password or user or None
    return None


def _b64(value: str) -> str | None:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


async def authenticate(
    state: GatewayState, token: str | None, *, protocol: str, client_ip: str | None, path: str
) -> KeyRecord | Refusal:
    """Verify a key exactly as ``/ingest`` does (same cache, scope, audit record and metrics)."""
    assert state.keys is not None
    verdict, key_id = await state.keys.verify(f"Bearer {token}" if token else None, "ingest")
    if state.audit is not None:
        state.audit.record(
            audit_record(
                action="ingest.auth",
                outcome=verdict.outcome,
                key_id=key_id,
                client_ip=client_ip,
                tenant=verdict.record.tenant if verdict.record else None,
                status=verdict.status if not verdict.ok else None,
                path=path,
                detail=f"protocol={protocol}",
            )
        )
    if not verdict.ok or verdict.record is None:
        state.metrics.auth_failures.labels(verdict.outcome).inc()
        retry = str(state.settings.kafka_unavailable_retry_after_s) if verdict.status == 503 else None
        message = verdict.message
        if verdict.outcome in ("missing", "malformed"):
            message += " (or 'ApiKey <key>', or HTTP Basic with the key as password)"
        return Refusal(verdict.status, message, retry, reason=f"auth_{verdict.outcome}")
    return verdict.record


# -- capacity ------------------------------------------------------------------------------------
def check_capacity(state: GatewayState, record: KeyRecord) -> Refusal | None:
    """Draining, Kafka down, pipeline lag, an empty token bucket: refuse before reading the body."""
    s, m = state.settings, state.metrics
    if state.draining:
        return Refusal(503, "gateway is shutting down; retry on another instance", "1", "draining")
    if not state.producer.ready:
        return Refusal(
            503,
            f"Kafka is unavailable ({state.producer.last_error}); nothing was accepted, retry later",
            str(s.kafka_unavailable_retry_after_s),
            "kafka_unavailable",
        )
    if state.lag.over:
        m.rate_limited.labels("backpressure").inc()
        return Refusal(
            503,
            f"pipeline is behind: consumer lag {state.lag.lag} exceeds {s.max_consumer_lag}; retry later",
            str(s.kafka_unavailable_retry_after_s),
            "backpressure",
        )
    wait = state.limiter.wait_for_one(record.key_id, record.rate, record.burst)
    if wait > 0:
        m.rate_limited.labels("key_rate").inc()
        return _rate_refusal(state, record, wait, None)
    return None


def _rate_refusal(state: GatewayState, record: KeyRecord, wait: float, n: int | None) -> Refusal:
    s = state.settings
    rate = record.rate or s.default_rate
    burst = record.burst or s.default_burst
    what = f"this batch of {n} events fits in {wait:.2f} s" if n is not None else f"retry in {wait:.2f} s"
    return Refusal(
        429,
        f"rate limit for key {record.key_id}: {rate:g} events/s, burst {burst:g}; {what}",
        retry_after_header(wait, s.retry_after_s),
        "rate_limited",
    )


class Slot:
    """``async with Slot(state) as refusal:`` — one of ``max_concurrent_requests``, or a 503."""

    def __init__(self, state: GatewayState) -> None:
        self.state = state
        self.held = False

    async def __aenter__(self) -> Refusal | None:
        s = self.state
        if not s.concurrency.try_acquire():
            s.metrics.rate_limited.labels("concurrency").inc()
            return Refusal(
                503,
                f"gateway is at its limit of {s.settings.max_concurrent_requests} concurrent requests; retry shortly",
                str(s.settings.retry_after_s),
                "concurrency",
            )
        self.held = True
        s.metrics.in_flight.inc()
        return None

    async def __aexit__(self, *exc: object) -> None:
        if self.held:
            self.state.metrics.in_flight.dec()
            self.state.concurrency.release()


# -- body ----------------------------------------------------------------------------------------
class _DeflateDecoder:
    """``Content-Encoding: deflate`` (zlib-wrapped, or raw as some clients send), capped like gzip."""

    def __init__(self, limits: Any) -> None:
        self.limits = limits
        self.obj: Any = None
        self.buf = b""
        self.bytes_in = 0
        self.bytes_out = 0

    def feed(self, data: bytes) -> list[bytes]:
        if self.obj is None:
            self.buf += data
            if len(self.buf) < 2:
                return []
            zlib_header = (self.buf[0] & 0x0F) == 8 and (self.buf[0] * 256 + self.buf[1]) % 31 == 0
            self.obj = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
            data, self.buf = self.buf, b""
        out: list[bytes] = []
        self.bytes_in += len(data)
        while data:
            try:
                piece = self.obj.decompress(data, 64 * 1024)
            except zlib.error as exc:
                raise DecompressError(f"body: invalid deflate data ({exc})") from None
            self.bytes_out += len(piece)
            lim = self.limits
            if self.bytes_out > lim.max_output:
                raise TooLargeError(f"body: decompressed size exceeds the limit of {lim.max_output} bytes")
            if self.bytes_out > lim.ratio_grace and self.bytes_out > lim.max_ratio * max(self.bytes_in, 1):
                raise TooLargeError(f"body: compression ratio exceeds the limit of {lim.max_ratio:g}:1")
            if piece:
                out.append(piece)
            data = self.obj.unconsumed_tail
            if self.obj.eof:
                break
        return out

    def finish(self) -> None:
        if self.obj is None and self.buf:
            raise DecompressError("body: deflate stream is truncated")
        if self.obj is not None and not self.obj.eof:
            raise DecompressError("body: deflate stream is truncated")


async def read_body(request: web.Request, state: GatewayState, encoding_header: str | None) -> bytes:
    """The decoded body under the same caps as ``/ingest`` (raises DecompressError/TimeoutError)."""
    settings = state.settings
    enc = (encoding_header or "identity").strip().lower() or "identity"
    dec: Any = _DeflateDecoder(state.decompress_limits) if enc == "deflate" else None
    if dec is None:
        dec = CappedDecompressor(normalize_encoding(enc), state.decompress_limits)
    body, wire = await read_capped(request.content, dec, max_wire=settings.max_batch_bytes,
                                   timeout_s=settings.body_timeout_s)
    state.metrics.bytes_in.observe(wire)
    state.metrics.bytes_decoded.observe(len(body))
    return body


def precheck_length(state: GatewayState, request: web.Request) -> Refusal | None:
    limit = state.settings.max_batch_bytes
    if request.content_length is not None and request.content_length > limit:
        return Refusal(413, f"body: {request.content_length} bytes exceeds the batch limit of {limit} bytes",
                       reason="too_large")
    return None


# -- recent ids (409 under create) -------------------------------------------------------------
class RecentIds:
    """Event ids acknowledged recently, per tenant, so a retried ``create`` answers 409 at once.

    Bounded (oldest forgotten first); a retry that arrives after its id was forgotten is still
    stored once — the pipeline indexes with ``op_type=create`` and ``_id`` = the event id.
    """

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[tuple[str, str], None] = OrderedDict()

    def __contains__(self, item: tuple[str, str]) -> bool:
        return item in self._ids

    def add_all(self, tenant: str, ids: Sequence[str]) -> None:
        for i in ids:
            self._ids[(tenant, i)] = None
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


# -- submit --------------------------------------------------------------------------------------
def key_context(record: KeyRecord) -> KeyContext:
    return KeyContext(
        key_id=record.key_id,
        tenant=record.tenant,
        source=record.source,
        environment=record.environment,
        audit=bool(record.audit),
    )


async def submit(
    state: GatewayState,
    record: KeyRecord,
    events: Sequence[dict[str, Any] | None],
    *,
    protocol: str,
    errors: dict[int, list[str]] | None = None,
) -> Submitted | Refusal:
    """Rate-limit, validate and produce ``events``; positions map 1:1 to the input.

    ``None`` entries (already judged bad by the protocol, with ``errors[i]`` saying why) are
    reported as rejected without being validated. Returns a Refusal (429 or 503) when the whole
    request must be retried: then nothing of it may be considered accepted.
    """
    pm = protocol_metrics(state)
    out = Submitted(rejected=dict(errors or {}))
    positions = [i for i, e in enumerate(events) if e is not None]
    pm.received(protocol, len(events))
    wait = state.limiter.check(record.key_id, len(positions), record.rate, record.burst) if positions else 0.0
    if wait > 0:
        state.metrics.rate_limited.labels("key_rate").inc()
        pm.refused(protocol, "rate_limited", len(events))
        return _rate_refusal(state, record, wait, len(positions))
    entries = []
    for n, i in enumerate(positions):
        value = events[i]
        entries.append(ParsedEntry(index=n, value=value, size=len(orjson.dumps(value))))
    result = validate_batch(entries, key_context(record), limits=state.validation_limits)
    bad = {r["index"]: r["errors"] for r in result.rejected}
    good_positions = [positions[n] for n in range(len(positions)) if n not in bad]
    for n, errs in bad.items():
        out.rejected[positions[n]] = errs
    for reason_errors in out.rejected.values():
        pm.rejected(protocol, _reason(reason_errors))
    state.metrics.events_rejected.inc(len(out.rejected))
    while result.envelopes:
        started = time.perf_counter()
        try:
            await state.producer.send_all(result.envelopes, record.source.encode())
        except RecordError as exc:  # that record cannot be produced (its content): reject it, send the rest
            pos = good_positions.pop(exc.position)
            result.envelopes.pop(exc.position)
            out.rejected[pos] = [f"entry: {exc}"]
            pm.rejected(protocol, "unproducible")
            continue
        except KafkaUnavailable as exc:
            pm.refused(protocol, "kafka_unavailable", len(events))
            return Refusal(
                503,
                f"{exc}; nothing of this request should be considered accepted, retry it",
                str(state.settings.kafka_unavailable_retry_after_s),
                "kafka_unavailable",
            )
        pm.produce_seconds.labels(protocol).observe(time.perf_counter() - started)
        break
    for pos, env in zip(good_positions, result.envelopes, strict=True):
        out.accepted.append(pos)
        out.ids[pos] = env.id
    state.metrics.events_accepted.inc(len(out.accepted))
    pm.accepted(protocol, len(out.accepted))
    return out


def _reason(errors: list[str]) -> str:
    """A short, bounded label for the metrics: the field the first error names."""
    first = errors[0] if errors else "unknown"
    name = first.split(":", 1)[0].strip()
    return name if len(name) <= 40 and name.replace("_", "").replace(".", "").isalnum() else "other"


def protocol_metrics(state: GatewayState) -> ProtocolMetrics:
    """The per-protocol counters, registered once in the gateway's own registry."""
    pm = getattr(state.metrics, "_protocols", None)
    if pm is None:
        pm = ProtocolMetrics(state.metrics.registry)
        state.metrics._protocols = pm  # type: ignore[attr-defined]
    return pm
