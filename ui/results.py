"""The ui's view of an event: ``opensearch.search``'s one result shape, plus the API link.

The OpenSearch layer shapes results and knows no URLs; the ui knows where an event lives
(``GET /api/v1/logs/{id}``), so search, event detail and the live tail all add the link here.
"""

from __future__ import annotations

from typing import Any

from opensearch.search import doc_to_result, hit_to_result

LOGS_PATH = "/api/v1/logs/"


def linked(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with ``link`` (right after ``id``, where clients have always found it)."""
    return {"id": result["id"], "link": LOGS_PATH + result["id"], **result}


def hit_result(hit: dict[str, Any]) -> dict[str, Any]:
    """A search hit as the API returns it."""
    return linked(hit_to_result(hit))


def doc_result(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document (a live-tail message) as the API returns it."""
    return linked(doc_to_result(doc))
