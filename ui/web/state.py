"""The web layer's keys on the app and request, and the small helpers every page module uses.

A leaf of ``ui.web`` (beside ``ui.http``, the API's leaf): page modules import it, never each other's
handlers, so adding a page module touches nothing else but the table in ``ui.web.routes``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from ui.api import QueryService
from ui.errors import ApiError
from ui.http import SERVICE
from ui.web import session as sess
from ui.web.settings import WebSettings

HERE = Path(__file__).parent
WEB = web.AppKey("web_settings", WebSettings)
JINJA = web.AppKey("jinja", jinja2.Environment)
# secret (SessionSecret), keys (KeyChecker), saved (SavedQueryStore), sources (per-tenant cache)
STATE = web.AppKey("web_state", dict)
SESSION: web.RequestKey[sess.Session | None] = web.RequestKey("lh_session", object)  # type: ignore[arg-type]


def service(request: web.Request) -> QueryService:
    """The API's QueryService: every page is a view over the same calls the JSON API makes."""
    return request.app[SERVICE]


@contextlib.contextmanager
def opensearch_as_503(what: str) -> Iterator[None]:
    """OpenSearch unreachable or failing → 503 naming what could not be done."""
    try:
        yield
    except ApiError:
        raise
    except (OSConnectionError, TransportError) as exc:
        raise ApiError(503, f"{what}: OpenSearch unavailable ({exc})") from exc


def quote_id(event_id: Any) -> str:
    """An event id as one URL path segment."""
    return quote(str(event_id), safe="")
