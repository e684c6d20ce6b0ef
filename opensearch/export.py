"""Streaming export: point in time + ``search_after`` batches, each formatted and written before
the next is fetched, so memory stays constant however many rows are exported.

Formatters turn a batch of hits into bytes; the caller (ui) writes them to the HTTP response
and its ``drain`` gives backpressure: a slow client slows the export instead of buffering it.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
from opensearchpy import AsyncOpenSearch

from logharbor import ecs
from opensearch.search import Page, close_pit, get_path, open_pit, pit_page


async def iter_batches(client: AsyncOpenSearch, indices: Sequence[str], query: dict[str, Any],
                       sort: list[dict[str, Any]], *, batch_size: int, limit: int,
                       keep_alive: str = "2m", source: Any = True) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield lists of hits (at most ``limit`` in all); the point in time is closed at the end,
    also when the consumer stops early (client went away)."""
    if not indices:
        return
    pit_id = await open_pit(client, indices, keep_alive)
    sent = 0
    nxt: asyncio.Task[Page] | None = None
    try:
        size = min(batch_size, limit)
        page = await pit_page(client, pit_id, keep_alive, query, sort, size, None, source=source)
        while page.hits:
            pit_id = page.pit_id or pit_id
            sent += len(page.hits)
            more = len(page.hits) == size and sent < limit
            if more:
                # Fetch the next batch while the caller formats and writes this one.
                size = min(batch_size, limit - sent)
                nxt = asyncio.create_task(pit_page(client, pit_id, keep_alive, query, sort, size,
                                                   page.hits[-1]["sort"], source=source))
            yield page.hits
            if nxt is None:
                break
            page, nxt = await nxt, None
    finally:
        if nxt is not None:
            nxt.cancel()
            with contextlib.suppress(BaseException):
                await nxt
        await close_pit(client, pit_id)


# CSV formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell starting with one of
# these as a formula, so a log line such as ``=HYPERLINK(...)`` would execute when an exported
# file is opened. Such string cells get a leading ``'`` — in CSV only; JSON keeps values as sent.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Text export: C0 controls (but tab), DEL and C1 controls become visible escapes, so a message
# cannot move the cursor, recolour the terminal (ESC sequences) or forge a new line with a bare CR.
_CONTROL_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROL_ESCAPES.update({0x0A: "\\n", 0x0D: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def csv_safe(cell: str) -> str:
    """Neutralise a CSV cell a spreadsheet would read as a formula (prefix ``'``)."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def escape_controls(text: str) -> str:
    """Control characters as visible escapes (``\\x1b``, ``\\r``, ``\\n``) for terminal-safe text."""
    return text.translate(_CONTROL_ESCAPES)


def _csv_cell(value: Any) -> str:
    return csv_safe(value) if isinstance(value, str) else _cell(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return orjson.dumps(value).decode()


class Formatter:
    """``head()`` once, ``batch(hits)`` per batch, ``tail()`` once."""

    def head(self) -> bytes:
        return b""

    def batch(self, hits: list[dict[str, Any]]) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def tail(self) -> bytes:
        return b""


def _doc(hit: dict[str, Any]) -> dict[str, Any]:
    """The stored document; ``event.id`` filled from ``_id`` so re-imports keep the id."""
    src = hit.get("_source") or {}
    if get_path(src, ecs.EVENT_ID) is None:
        src = {**src, ecs.EVENT_ID: hit["_id"]}
    return src


class NdjsonFormatter(Formatter):
    def batch(self, hits: list[dict[str, Any]]) -> bytes:
        return b"".join(orjson.dumps(_doc(h)) + b"\n" for h in hits)


class JsonFormatter(Formatter):
    """A JSON array written incrementally: ``[`` then documents with commas, then ``]``."""

    def __init__(self) -> None:
        self._first = True

    def head(self) -> bytes:
        return b"["

    def batch(self, hits: list[dict[str, Any]]) -> bytes:
        if not hits:
            return b""
        body = b",\n".join(orjson.dumps(_doc(h)) for h in hits)
        if self._first:
            self._first = False
            return b"\n" + body
        return b",\n" + body

    def tail(self) -> bytes:
        return b"\n]\n"


class CsvFormatter(Formatter):
    """RFC 4180 CSV of the chosen columns; nested values are written as JSON in one cell."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)

    def _rows(self, rows: list[list[str]]) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        return buf.getvalue().encode()

    def head(self) -> bytes:
        # Column names are field names the caller chose (FIELD_RE-checked), written as they are:
        # ``@timestamp`` is a field, not a formula.
        return self._rows([self.columns])

    def batch(self, hits: list[dict[str, Any]]) -> bytes:
        cols = self.columns
        return self._rows([[_csv_cell(_hit_value(h, c)) for c in cols] for h in hits])


def _hit_value(hit: dict[str, Any], column: str) -> Any:
    if column in ("_id", "id"):
        return hit["_id"]
    return get_path(hit.get("_source") or {}, column)


class TextFormatter(Formatter):
    """One line per event, the way it would look in a terminal: ``time LEVEL source@host message``."""

    def batch(self, hits: list[dict[str, Any]]) -> bytes:
        out = []
        for h in hits:
            src = h.get("_source") or {}
            message = _text(src, ecs.MESSAGE)
            out.append(
                f"{_text(src, ecs.TIMESTAMP)} {_text(src, ecs.LEVEL) or '-':5} "
                f"{_text(src, ecs.SERVICE) or '-'}@{_text(src, ecs.HOST) or '-'} "
                f"{message}\n"
            )
        return "".join(out).encode()


def _text(src: dict[str, Any], field: str) -> str:
    return escape_controls(_cell(get_path(src, field)))


def formatter_for(fmt: str, columns: Sequence[str]) -> Formatter:
    if fmt == "json":
        return JsonFormatter()
    if fmt == "ndjson":
        return NdjsonFormatter()
    if fmt == "csv":
        return CsvFormatter(columns)
    if fmt == "text":
        return TextFormatter()
    raise ValueError(f"unknown export format {fmt!r}")


def source_filter(fmt: str, columns: Sequence[str]) -> Any:
    """Fetch only what the format writes: less for OpenSearch to send and us to parse."""
    if fmt == "csv":
        return [c for c in columns if c not in ("_id", "id")] or False
    if fmt == "text":
        return [ecs.TIMESTAMP, ecs.LEVEL, ecs.SERVICE, ecs.HOST, ecs.MESSAGE]
    return True
