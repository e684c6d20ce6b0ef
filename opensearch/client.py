"""OpenSearch clients built from :class:`OpenSearchSettings` (one place for connection options)."""

from __future__ import annotations

import ssl

from opensearchpy import AsyncOpenSearch, OpenSearch

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


def async_client(settings: OpenSearchSettings | None = None, **extra: object) -> AsyncOpenSearch:
    """An asyncio client (aiohttp transport), for the gateway, pipeline and ui."""
    kw = _kwargs(settings or OpenSearchSettings())
    kw.update(extra)
    return AsyncOpenSearch(**kw)
