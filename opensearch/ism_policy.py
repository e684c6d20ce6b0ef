"""The shape of a lifecycle policy as LogHarbor installs it in ISM: without its ``delete`` state.

ISM's ``delete`` action removes an index outright — no snapshot check, no grace period, no
audit record, no legal hold — so deletion stays with LogHarbor's safe deletion
(:mod:`opensearch.lifecycle_ism`). A leaf module: :mod:`opensearch.bootstrap` renders the
policies with it and :mod:`opensearch.lifecycle_ism` (which reads retention, which bootstraps)
re-exports it, without the two importing each other.
"""

from __future__ import annotations

import copy
from typing import Any


def for_ism(body: dict[str, Any]) -> dict[str, Any]:
    """The policy without its ``delete`` state (and without transitions into it)."""
    out = copy.deepcopy(body)
    pol = out["policy"]
    pol["states"] = [s for s in pol["states"] if not any("delete" in a for a in s.get("actions") or [])]
    names = {s["name"] for s in pol["states"]}
    for s in pol["states"]:
        s["transitions"] = [t for t in s.get("transitions") or [] if t["state_name"] in names]
    return out
