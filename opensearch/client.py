"""OpenSearch clients built from :class:`OpenSearchSettings` (one place for connection options)."""

from __future__ import annotations

from opensearchpy import AsyncOpenSearch, OpenSearch

from logharbor.config import OpenSearchSettings


def _kwargs(settings: OpenSearchSettings) -> dict:
    kw: dict = {
        "hosts": [settings.url],
        "timeout": settings.timeout_s,
        "verify_certs": settings.verify_certs,
        "ssl_show_warn": False,
        "http_compress": False,
    }
    if settings.username:
        kw["http_auth"] = (settings.username, settings.password or "")
    return kw


def sync_client(settings: OpenSearchSettings | None = None) -> OpenSearch:
    """A blocking client, for CLI commands and bootstrap."""
    return OpenSearch(**_kwargs(settings or OpenSearchSettings()))


def async_client(settings: OpenSearchSettings | None = None, **extra: object) -> AsyncOpenSearch:
    """An asyncio client (aiohttp transport), for the gateway, pipeline and ui."""
    kw = _kwargs(settings or OpenSearchSettings())
    kw.update(extra)
    return AsyncOpenSearch(**kw)
