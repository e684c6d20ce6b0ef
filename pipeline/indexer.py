"""Bulk indexing into data streams: ``op_type=create``, ``_id`` = event id, bounded bulks.

Outcomes per document (docs/ARCHITECTURE.md §2–3):
* 201 → created; 409 → duplicate avoided (the id is already stored: a replay);
* 429 / 5xx / connection errors (whole request or per item) → retried with tenacity exponential
  backoff, for as long as it takes; the caller pauses consumption meanwhile (``on_backpressure``);
* a mapping conflict (400 naming a field) → retried once with that field moved into the
  ``_malformed`` text field, so the rest of the event stays searchable;
* the index's total-fields limit reached → retried with every field the backing index does not
  map moved into ``logharbor.overflow`` (pipeline/field_overflow.py), counted, never lost;
* anything else → failed, with the reason, for the dead-letter path.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import ConnectionTimeout, TransportError
from opensearchpy.serializer import JSONSerializer
from tenacity import AsyncRetrying, retry_if_exception, wait_exponential, wait_random

from pipeline import field_overflow, metrics
from pipeline.document import MALFORMED, pop_path

log = logging.getLogger(__name__)


class Outcome(enum.Enum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    FAILED = "failed"


@dataclass(slots=True)
class IndexItem:
    """One document bound for ``index`` (a data stream) with ``_id``; ``ref`` is the caller's."""

    index: str
    id: str
    doc: dict[str, Any]
    ref: Any = None
    mapping_retried: bool = False
    overflow_attempts: int = 0  # re-sends with unmapped fields moved to logharbor.overflow
    overflow_moved: int = 0  # values moved there (counted when the document is created)
    outcome: Outcome | None = None
    reason: str | None = None
    _body: bytes | None = field(default=None, repr=False)
    _doc_bytes: bytes | None = field(default=None, repr=False)

    def body(self) -> bytes:
        """The two NDJSON lines of this item in a _bulk body (serialised once)."""
        if self._body is None:
            action = orjson.dumps({"create": {"_index": self.index, "_id": self.id}})
            self._doc_bytes = orjson.dumps(self.doc)
            self._body = action + b"\n" + self._doc_bytes + b"\n"
        return self._body

    def doc_bytes(self) -> bytes:
        """The document as stored (JSON), reused for publishing instead of serialising again."""
        if self._doc_bytes is None:
            self.body()
        return self._doc_bytes  # type: ignore[return-value]


class OrjsonSerializer(JSONSerializer):
    """JSON responses read by orjson: a 2,000-item bulk response parsed by the standard library
    took 7 % of a busy pipeline's samples (py-spy, 5,000 events/s); requests are still written by
    opensearch-py's serializer (bulk bodies are bytes already)."""

    def loads(self, s: str | bytes) -> Any:
        return orjson.loads(s)


class Stopping(Exception):
    """Raised out of a backoff when the pipeline is shutting down (nothing is committed)."""


MAPPING_ERRORS = frozenset(
    {
        "mapper_parsing_exception",
        "document_parsing_exception",
        "illegal_argument_exception",
        "strict_dynamic_mapping_exception",
    }
)
_FIELD_IN_REASON = re.compile(r"\[([^\[\]\s]{1,256})\]")


def offending_field(error: dict[str, Any]) -> str | None:
    """The field a mapping error names (``failed to parse field [x] of type ...``), if any."""
    for err in (error, error.get("caused_by") or {}):
        reason = str(err.get("reason") or "")
        m = _FIELD_IN_REASON.search(reason)
        if m:
            return m.group(1)
    return None


def is_flood_stage_block(error: Any) -> bool:
    """OpenSearch's flood-stage disk block (``index.blocks.read_only_allow_delete``, a 429).

    Why it is singled out: it is not load but a full disk, and it lasts until space is freed
    (LogHarbor's disk monitor runs emergency retention; OpenSearch lifts the block itself). The
    items are retried like any 429 — consumption stays paused, Kafka keeps the records, nothing
    is failed — but polled at most every ``FLOOD_POLL_S`` so ingest resumes soon after it clears.
    """
    if not isinstance(error, dict):
        return False
    reason = str(error.get("reason") or "")
    if error.get("type") == "index_create_block_exception" or "create-index blocked" in reason:
        # the cluster-wide create-index block OpenSearch sets while every node is past the high
        # watermark (a 403): a new backing index or data stream must wait for space too
        return True
    return error.get("type") == "cluster_block_exception" and (
        "read-only-allow-delete" in reason or "flood-stage" in reason
    )


FLOOD_POLL_S = 5.0


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def _retryable_exc(exc: BaseException) -> bool:
    if isinstance(exc, OSConnectionError | ConnectionTimeout | asyncio.TimeoutError | OSError):
        return True
    if isinstance(exc, TransportError):
        return isinstance(exc.status_code, int) and _retryable_status(exc.status_code)
    return False


def chunk_items(items: list[IndexItem], max_docs: int, max_bytes: int) -> list[list[IndexItem]]:
    """Cut items into bulks by count and by bytes (a single huge doc still gets its own bulk)."""
    chunks: list[list[IndexItem]] = []
    current: list[IndexItem] = []
    size = 0
    for item in items:
        n = len(item.body())
        if current and (len(current) >= max_docs or size + n > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(item)
        size += n
    if current:
        chunks.append(current)
    return chunks


class BulkIndexer:
    """Sends items with bounded bulks and settles every one of them to an :class:`Outcome`."""

    def __init__(
        self,
        client: AsyncOpenSearch,
        *,
        max_docs: int = 2000,
        max_bytes: int = 8 * 1024 * 1024,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        stop_event: asyncio.Event | None = None,
        on_backpressure: Callable[[bool], None] | None = None,
    ) -> None:
        self.client = client
        self.max_docs = max_docs
        self.max_bytes = max_bytes
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.stop_event = stop_event or asyncio.Event()
        self.on_backpressure = on_backpressure or (lambda paused: None)
        # index() calls now backing off: the worker runs several bulks at once (pipeline.sink_concurrency),
        # and consumption may resume only when none of them is waiting on OpenSearch any more
        self._backing_off: set[object] = set()
        self.flood_blocked = False  # True while the last attempt met the flood-stage disk block

    async def _sleep(self, seconds: float) -> None:
        # Backoff sleeps end early on shutdown: the batch is then abandoned, not committed.
        try:
            await asyncio.wait_for(self.stop_event.wait(), timeout=seconds)
        except TimeoutError:
            return
        raise Stopping()

    def _pause(self, call: object) -> None:
        self._backing_off.add(call)
        self.on_backpressure(True)

    def _resume(self, call: object) -> None:
        self._backing_off.discard(call)
        if not self._backing_off:
            self.on_backpressure(False)

    def _retrying(self, call: object) -> AsyncRetrying:
        def before_sleep(state: Any) -> None:
            exc = state.outcome.exception() if state.outcome else None
            cause = type(exc).__name__ if exc else "unknown"
            metrics.BULK_RETRIES.labels(cause).inc()
            self._pause(call)
            log.warning("bulk request failed (%s), retry %d", exc, state.attempt_number)

        return AsyncRetrying(
            retry=retry_if_exception(_retryable_exc),
            wait=wait_exponential(multiplier=self.backoff_initial_s, max=self.backoff_max_s)
            + wait_random(0, self.backoff_initial_s),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )

    async def _send(self, chunk: list[IndexItem], call: object) -> list[dict[str, Any]]:
        body = b"".join(item.body() for item in chunk)
        metrics.BULK_DOCS.observe(len(chunk))
        metrics.BULK_BYTES.observe(len(body))
        async for attempt in self._retrying(call):
            with attempt:
                started = time.perf_counter()
                resp = await self.client.bulk(body=body)
                metrics.BULK_LATENCY.observe(time.perf_counter() - started)
        items = resp.get("items") or []
        if len(items) != len(chunk):
            raise RuntimeError(f"bulk response has {len(items)} items for {len(chunk)} documents")
        return items

    async def index(self, items: list[IndexItem]) -> list[IndexItem]:
        """Settle every item (sets ``outcome`` and ``reason``); returns the same list."""
        pending = items
        delay = self.backoff_initial_s
        call = object()
        try:
            while pending:
                retry: list[IndexItem] = []
                overflowed: list[tuple[IndexItem, str, Any]] = []
                backoff = flood = False
                chunks = chunk_items(pending, self.max_docs, self.max_bytes)
                while chunks:
                    chunk = chunks.pop(0)
                    try:
                        results = await self._send(chunk, call)
                    except TransportError as exc:
                        # A 4xx for the whole request (e.g. an invalid _id) must not sink the
                        # batch: halve it until the one offending document fails alone.
                        if len(chunk) == 1:
                            chunk[0].outcome = Outcome.FAILED
                            chunk[0].reason = _reason(
                                exc.info if isinstance(exc.info, dict) else str(exc),
                                exc.status_code if isinstance(exc.status_code, int) else 0,
                            )
                        else:
                            half = len(chunk) // 2
                            chunks[:0] = [chunk[:half], chunk[half:]]
                        continue
                    for item, result in zip(chunk, results, strict=True):
                        info = next(iter(result.values()))
                        status = int(info.get("status", 500))
                        if status in (200, 201):
                            item.outcome = Outcome.CREATED
                            if item.overflow_moved:
                                metrics.FIELD_OVERFLOW.inc()
                                metrics.FIELD_OVERFLOW_FIELDS.inc(item.overflow_moved)
                        elif status == 409:
                            item.outcome = Outcome.DUPLICATE
                        elif _retryable_status(status) or is_flood_stage_block(info.get("error")):
                            retry.append(item)
                            backoff = True
                            flood = flood or is_flood_stage_block(info.get("error"))
                        elif field_overflow.is_field_limit_error(info.get("error")) and item.overflow_attempts < 2:
                            overflowed.append((item, str(info.get("_index") or item.index), info["error"]))
                        elif self._reshape_for_mapping(item, info.get("error") or {}):
                            retry.append(item)
                        else:
                            item.outcome = Outcome.FAILED
                            item.reason = _reason(info.get("error"), status)
                if overflowed:
                    retry.extend(await self._move_overflow(overflowed))
                if backoff:
                    metrics.BULK_RETRIES.labels("flood_stage" if flood else "item_status").inc()
                    if flood and not self.flood_blocked:
                        log.warning("OpenSearch flood-stage disk block: consumption paused until it clears")
                    self.flood_blocked = flood
                    self._pause(call)
                    await self._sleep(min(delay, FLOOD_POLL_S) if flood else delay)
                    delay = min(delay * 2, self.backoff_max_s)
                elif self.flood_blocked:
                    log.warning("OpenSearch flood-stage block cleared: consumption resumes")
                    self.flood_blocked = False
                pending = retry
        finally:
            self._resume(call)
        return items

    async def _mapped_fields(self, index: str) -> field_overflow.MappedFields | None:
        """What ``index`` (a backing index) maps now; None when the mapping cannot be read."""
        try:
            resp = await self.client.indices.get_mapping(index=index)
        except Exception as exc:  # the caller then keeps only the core fields
            log.warning("cannot read the mapping of %s: %s", index, exc)
            return None
        body = resp.get(index) or next(iter(resp.values()), {})
        return field_overflow.MappedFields.of(body.get("mappings") or {})

    async def _move_overflow(self, items: list[tuple[IndexItem, str, Any]]) -> list[IndexItem]:
        """Reshape documents refused for the total-fields limit; the ones to send again.

        First attempt: move what the backing index does not map (its mapping read once per
        index per round; it cannot shrink) — or, when it maps everything by now, send it as it
        is. Second attempt (the mapping moved meanwhile, e.g. a rollover): keep only the core
        fields. Beyond that the item fails with the reason.
        """
        mappings: dict[str, field_overflow.MappedFields | None] = {}
        again: list[IndexItem] = []
        for item, index, error in items:
            mapped: field_overflow.MappedFields | None = None
            if item.overflow_attempts == 0:
                if index not in mappings:
                    mappings[index] = await self._mapped_fields(index)
                mapped = mappings[index]
            item.overflow_attempts += 1
            result = field_overflow.apply_overflow(item.doc, mapped or field_overflow.CORE_ONLY)
            if result is None and mapped is not None:
                again.append(item)  # the index maps every field by now (another document added them): as it is
                continue
            if result is None:
                item.outcome = Outcome.FAILED
                item.reason = _reason(error, 400) + f" (in {index}; no field left to move to logharbor.overflow)"
                continue
            item.doc, moved = result
            item.overflow_moved += moved
            item._body = item._doc_bytes = None
            again.append(item)
        return again

    def _reshape_for_mapping(self, item: IndexItem, error: dict[str, Any]) -> bool:
        """Move the field a mapping error names into ``_malformed``; False if not applicable."""
        if item.mapping_retried or error.get("type") not in MAPPING_ERRORS:
            return False
        name = offending_field(error)
        if not name:
            return False
        found, value = pop_path(item.doc, name)
        if not found:
            return False
        note = f"{name}={orjson.dumps(value, default=str).decode()}"
        previous = item.doc.get(MALFORMED)
        item.doc[MALFORMED] = f"{previous}\n{note}" if previous else note
        item.mapping_retried = True
        item._body = item._doc_bytes = None
        metrics.MAPPING_RETRIES.inc()
        return True


def _reason(error: Any, status: int) -> str:
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            text += f" (caused by {cause.get('type')}: {cause.get('reason')})"
        return f"{status} {text}"[:2000]
    return f"{status} {error}"[:2000]
