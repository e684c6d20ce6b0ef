"""OpenSearch clients built from :class:`OpenSearchSettings` (one place for connection options)."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from opensearchpy import AsyncOpenSearch, AsyncTransport, OpenSearch, TransportError

from logharbor.config import OpenSearchSettings


def _kwargs(settings: OpenSearchSettings) -> dict:
    kw: dict = {
        "hosts": settings.urls,
        "timeout": settings.timeout_s,
        "verify_certs": settings.verify_certs,
        "ssl_show_warn": False,
        "http_compress": False,
    }
    if settings.username:
        kw["http_auth"] = (settings.username, settings.password or "")
    if settings.ca_certs:
        kw["ca_certs"] = settings.ca_certs
    if settings.client_cert:
        kw["client_cert"] = settings.client_cert
        if settings.client_key:
            kw["client_key"] = settings.client_key
    if not settings.ssl_assert_hostname:
        kw["ssl_assert_hostname"] = False
    return kw


def ssl_context(settings: OpenSearchSettings) -> ssl.SSLContext | bool | None:
    """The TLS context a plain HTTP client (the ui's status probe) should use for the cluster."""
    if not settings.urls[0].startswith("https"):
        return None
    if not settings.verify_certs:
        return False
    ctx = ssl.create_default_context(cafile=settings.ca_certs) if settings.ca_certs else ssl.create_default_context()
    ctx.check_hostname = settings.ssl_assert_hostname
    return ctx


def sync_client(settings: OpenSearchSettings | None = None) -> OpenSearch:
    """A blocking client, for CLI commands and bootstrap."""
    return OpenSearch(**_kwargs(settings or OpenSearchSettings()))


def shards_starting(exc: BaseException) -> bool:
    """True for OpenSearch's 503 "all shards failed" with no shard failure listed.

    That is the answer a search gets when no copy of a shard it needs has started yet: the
    first backing index of a data stream the pipeline has just created, or a cluster that
    is red. Any shard that ran and failed would be listed, so an empty list means "not
    started", which is worth waiting for, unlike a query error."""
    if not isinstance(exc, TransportError) or exc.status_code != 503:
        return False
    err = exc.info.get("error") if isinstance(exc.info, dict) else None
    return (isinstance(err, dict) and err.get("type") == "search_phase_execution_exception"
            and not err.get("failed_shards") and not err.get("root_cause"))


class ShardStartWaitTransport(AsyncTransport):
    """Waits out a search's "no shard has started" 503 with a short backoff, up to
    ``shard_start_wait_s`` in all, before it gives the error to the caller.

    A new data stream's first index is in the cluster state (so a search matches it) a few
    hundred milliseconds before its primary starts; without this the first search after the
    first event of a tenant, source class or day fails. opensearch-py's own retry on 503 goes
    again at once, inside the same window, so it does not help. Only that one error is
    retried: bulk and write responses never carry it."""

    shard_start_wait_s = 3.0

    async def perform_request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        until = loop.time() + self.shard_start_wait_s
        delay = 0.05
        while True:
            try:
                return await super().perform_request(method, url, *args, **kwargs)
            except TransportError as exc:
                if not shards_starting(exc) or loop.time() + delay > until:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.8)


def async_client(settings: OpenSearchSettings | None = None, **extra: object) -> AsyncOpenSearch:
    """An asyncio client (aiohttp transport), for the gateway, pipeline and ui."""
    kw = _kwargs(settings or OpenSearchSettings())
    kw.setdefault("transport_class", ShardStartWaitTransport)
    kw.update(extra)
    return AsyncOpenSearch(**kw)
