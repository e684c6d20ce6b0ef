"""Tenant names: one rule for every component that accepts or checks one.

A tenant becomes part of index and data-stream names (``logs-<tenant>-<class>``) and of index
patterns the ui searches (``logs-<tenant>-*``), so it is lower case, starts with a letter or
digit, and holds only characters that cannot widen a pattern (no ``*``, ``,``, spaces). The key
store used to allow ``.`` while the ui refused it (a tenant could be created and ingest but got
403 from the ui); both use :data:`TENANT_RE` now, and ``.`` is allowed everywhere.
"""

from __future__ import annotations

import re

TENANT_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,62}$")
TENANT_RULE = "1-63 lower-case letters, digits, '_', '.' or '-', starting with a letter or digit"


def valid_tenant(name: str) -> bool:
    """True if ``name`` is an acceptable tenant name."""
    return bool(TENANT_RE.match(name or ""))
