"""Remote tables for the ``lookup`` step: an HTTP endpoint or a PostgreSQL query, cached with a TTL.

Why a thread of its own: rule steps run synchronously inside the worker's event loop (the chain
is CPU work between two awaits), while HTTP and SQL are async I/O. One daemon thread per
process runs an asyncio loop for every remote lookup; the step hands it requests and waits at
most ``timeout_s`` for an answer, so a slow or dead source costs a bounded pause, never a stuck
pipeline.

Two modes per source, chosen by the config:

- **table** (URL without ``{key}``, SQL without ``$1``): the whole table is fetched at start and
  every ``ttl_s`` in the background; events never wait. For tables that fit in memory.
- **per key** (URL with ``{key}``, SQL with ``$1``): a key not in the cache is fetched while the
  event waits up to ``timeout_s``; answers (and "not found", for ``negative_ttl_s``) are cached
  for ``ttl_s``. A fetch that times out still fills the cache when it completes.

When the source fails (connection refused, 5xx, timeout), the step stops asking for
``retry_after_s`` and events pass unenriched, counted in
``logharbor_pipeline_lookup_unenriched_total{step, reason}``; cached rows (even expired ones)
are still used meanwhile: stale context beats none.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
import urllib.parse
from typing import Any, Protocol

import orjson

log = logging.getLogger(__name__)

Row = dict[str, Any]
_MISSING = object()


class RemoteSource(Protocol):
    per_key: bool

    async def fetch_key(self, key: str) -> Row | None: ...
    async def fetch_table(self) -> dict[str, Row]: ...
    async def close(self) -> None: ...


def rows_to_table(data: Any, key_column: str | None, where: str) -> dict[str, Row]:
    """{key: row} from a JSON object of objects or a list of objects holding ``key_column``."""
    if isinstance(data, dict):
        return {str(k): dict(v) for k, v in data.items() if isinstance(v, dict)}
    if isinstance(data, list):
        rows = [r for r in data if isinstance(r, dict)]
        key = key_column or (next(iter(rows[0])) if rows else None)
        return {str(r[key]): {k: v for k, v in r.items() if k != key} for r in rows if key in r}
    raise ValueError(f"{where}: a table must be a JSON object of objects or a list of objects")


class HttpSource:
    """GET ``url`` (``{key}`` is replaced by the URL-quoted key): 200 JSON = row/table, 404 = no row."""

    def __init__(self, url: str, key_column: str | None, timeout_s: float, headers: dict[str, str]) -> None:
        self.url, self.key_column, self.timeout_s, self.headers = url, key_column, timeout_s, headers
        self.per_key = "{key}" in url
        self._session: Any = None

    async def _get(self, url: str) -> tuple[int, bytes]:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                                                  headers=self.headers)
        async with self._session.get(url) as resp:
            return resp.status, await resp.read()

    async def fetch_key(self, key: str) -> Row | None:
        url = self.url.replace("{key}", urllib.parse.quote(key, safe=""))
        status, body = await self._get(url)
        if status == 404:
            return None
        if status != 200:
            raise ConnectionError(f"GET {url}: HTTP {status}")
        data = orjson.loads(body)
        if not isinstance(data, dict):
            raise ValueError(f"GET {url}: expected a JSON object, got {type(data).__name__}")
        return data

    async def fetch_table(self) -> dict[str, Row]:
        status, body = await self._get(self.url)
        if status != 200:
            raise ConnectionError(f"GET {self.url}: HTTP {status}")
        return rows_to_table(orjson.loads(body), self.key_column, f"GET {self.url}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class PostgresSource:
    """A PostgreSQL query through asyncpg: ``$1`` = the key (one row), else the whole table."""

    def __init__(self, dsn: str, query: str, key_column: str | None, timeout_s: float, pool_size: int) -> None:
        self.dsn, self.query, self.key_column, self.timeout_s, self.pool_size = (
            dsn, query, key_column, timeout_s, pool_size)
        self.per_key = "$1" in query
        self._pool: Any = None

    async def _acquire_pool(self) -> Any:
        import asyncpg

        if self._pool is None:
            self._pool = await asyncpg.create_pool(self.dsn, min_size=0, max_size=self.pool_size,
                                                   timeout=self.timeout_s, command_timeout=self.timeout_s)
        return self._pool

    async def fetch_key(self, key: str) -> Row | None:
        pool = await self._acquire_pool()
        row = await pool.fetchrow(self.query, key)
        return {k: v for k, v in dict(row).items() if v is not None} if row is not None else None

    async def fetch_table(self) -> dict[str, Row]:
        pool = await self._acquire_pool()
        rows = [dict(r) for r in await pool.fetch(self.query)]
        return rows_to_table(rows, self.key_column, "sql")

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


class _Loop:
    """The process's one background event loop for remote lookups (started on first use)."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None or cls._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="lookup-io", daemon=True).start()
                cls._loop = loop
            return cls._loop


class RemoteTable:
    """Cache, TTL, timeout and back-off in front of one :class:`RemoteSource` (thread-safe enough:
    the worker thread reads, the I/O thread's callbacks write whole entries)."""

    def __init__(self, source: RemoteSource, *, ttl_s: float, negative_ttl_s: float, timeout_s: float,
                 retry_after_s: float, max_entries: int, name: str) -> None:
        self.source, self.ttl_s, self.negative_ttl_s, self.timeout_s = source, ttl_s, negative_ttl_s, timeout_s
        self.retry_after_s, self.max_entries, self.name = retry_after_s, max_entries, name
        self.loop = _Loop.get()
        self.cache: dict[str, tuple[float, Row | None]] = {}  # key → (expires at, row or None = no row)
        self.table: dict[str, Row] | None = None
        self.table_expires = 0.0
        self.down_until = 0.0
        self.down_reason = "source_down"  # or "timeout": what unenriched events are counted as meanwhile
        self.last_error: str | None = None
        self._pending: dict[str, concurrent.futures.Future[Row | None]] = {}
        self._refreshing: concurrent.futures.Future[Any] | None = None
        if not source.per_key:
            self._refresh_table(wait=True)

    # -- failure bookkeeping -------------------------------------------------------------------

    def _failed(self, exc: BaseException) -> None:
        self.down_until = time.monotonic() + self.retry_after_s
        self.down_reason = "timeout" if isinstance(exc, TimeoutError) else "source_down"
        msg = f"{type(exc).__name__}: {exc}"[:300]
        if msg != self.last_error:
            log.warning("lookup %s: source failed (%s); events pass unenriched for %.0fs", self.name, msg,
                        self.retry_after_s)
        self.last_error = msg

    def is_down(self) -> bool:
        return time.monotonic() < self.down_until

    # -- table mode ----------------------------------------------------------------------------

    def _refresh_table(self, wait: bool = False) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            return
        fut = asyncio.run_coroutine_threadsafe(asyncio.wait_for(self.source.fetch_table(), self.timeout_s * 5),
                                               self.loop)

        def done(f: concurrent.futures.Future[Any]) -> None:
            try:
                self.table = f.result()
                self.last_error = None
                self.down_until = 0.0
            except BaseException as exc:  # any failure of the source is reported, not raised
                self._failed(exc)
            self.table_expires = time.monotonic() + (self.ttl_s if self.last_error is None else self.retry_after_s)

        fut.add_done_callback(done)
        self._refreshing = fut
        if wait:
            try:
                fut.result(self.timeout_s * 5)
            except BaseException:  # done() recorded it; the step starts anyway (fail open)
                pass

    # -- lookups ------------------------------------------------------------------------------

    def get(self, key: str) -> tuple[Row | None, str | None]:
        """(row or None, why it is unenriched or None). Reasons: ``source_down``, ``timeout``."""
        now = time.monotonic()
        if not self.source.per_key:
            if now >= self.table_expires:
                self._refresh_table()
            if self.table is None:
                return None, "source_down"
            return self.table.get(key), None
        cached = self.cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1], None
        if self.is_down():
            return (cached[1], None) if cached is not None else (None, self.down_reason)
        fut = self._pending.get(key)
        wait = self.timeout_s
        if fut is None:
            fut = self._start_fetch(key)
        else:
            wait = 0.0  # an earlier event already waited for this key: do not wait twice
        try:
            return fut.result(wait), None
        except concurrent.futures.TimeoutError:
            if wait > 0:  # slow source: stop waiting on it until this fetch (or the back-off) ends
                self.down_until = time.monotonic() + self.retry_after_s
                self.down_reason = "timeout"
            return (cached[1], None) if cached is not None else (None, "timeout")
        except BaseException as exc:  # the callback records it too, maybe after this thread woke up
            self._failed(exc)
            return (cached[1], None) if cached is not None else (None, "source_down")

    def _start_fetch(self, key: str) -> concurrent.futures.Future[Row | None]:
        fut = asyncio.run_coroutine_threadsafe(asyncio.wait_for(self.source.fetch_key(key), self.timeout_s * 5),
                                               self.loop)
        self._pending[key] = fut

        def done(f: concurrent.futures.Future[Row | None]) -> None:
            self._pending.pop(key, None)
            try:
                row = f.result()
            except BaseException as exc:  # reported, the event goes on
                self._failed(exc)
                return
            self.down_until = 0.0
            self.last_error = None
            if len(self.cache) >= self.max_entries:
                self.cache.pop(next(iter(self.cache)))  # oldest insertion first out
            self.cache[key] = (time.monotonic() + (self.ttl_s if row is not None else self.negative_ttl_s), row)

        fut.add_done_callback(done)
        return fut

    def close(self) -> None:
        if not self.loop.is_closed():
            asyncio.run_coroutine_threadsafe(self.source.close(), self.loop)
