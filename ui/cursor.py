"""Opaque, signed paging cursors.

A cursor carries what the next page needs (tenant, indices, the compiled query, sort,
``search_after`` values and, once opened, the point-in-time id) so deep pages never re-parse
the request or use ever-larger ``from``. It is signed with HMAC so a caller cannot edit the
query or point it at another tenant's point in time; the tenant inside is re-checked against
the caller's key on every use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from typing import Any

import orjson

from ui.errors import bad_request

_MAC_LEN = 16


def encode_cursor(payload: dict[str, Any], secret: bytes) -> str:
    data = zlib.compress(orjson.dumps(payload), 6)
    mac = hmac.new(secret, data, hashlib.sha256).digest()[:_MAC_LEN]
    return base64.urlsafe_b64encode(mac + data).decode().rstrip("=")


def decode_cursor(token: str, secret: bytes, tenant: str) -> dict[str, Any]:
    """The payload of ``token``; 400 if it is malformed, forged, or minted for another tenant."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as exc:
        raise bad_request("invalid cursor") from exc
    mac, data = raw[:_MAC_LEN], raw[_MAC_LEN:]
    if len(mac) < _MAC_LEN or not hmac.compare_digest(
        mac, hmac.new(secret, data, hashlib.sha256).digest()[:_MAC_LEN]
    ):
        raise bad_request("invalid cursor (not issued by this service, or altered)")
    try:
        payload = orjson.loads(zlib.decompress(data))
    except (zlib.error, orjson.JSONDecodeError) as exc:  # pragma: no cover - MAC makes this unreachable
        raise bad_request("invalid cursor") from exc
    if payload.get("tenant") != tenant:
        raise bad_request("invalid cursor (issued for another key's tenant)")
    return payload
