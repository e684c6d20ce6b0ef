"""The lifecycle runner's state index and the units of its policy files: a leaf of the lifecycle modules.

``opensearch.lifecycle`` (the runner), ``safe_delete``, ``size_budget`` and ``snapshots`` all read
these; with them in ``lifecycle.py`` those modules imported the runner that calls them (a cycle).
"""

from __future__ import annotations

import re

from opensearchpy import OpenSearch, TransportError

LIFECYCLE_INDEX = ".logharbor-lifecycle"
_AGE = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)(b|kb|mb|gb|tb)$", re.I)
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}


def age_seconds(text: str) -> float:
    """``"7d"`` → seconds (the ISM time-value units LogHarbor policies use)."""
    m = _AGE.match(text.strip())
    if not m:
        raise ValueError(f"bad age '{text}': use a number and one of ms, s, m, h, d (e.g. 7d)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def size_bytes(text: str) -> int:
    m = _SIZE.match(str(text).strip())
    if not m:
        raise ValueError(f"bad size '{text}': use a number and one of b, kb, mb, gb, tb")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])


def ensure_lifecycle_index(client: OpenSearch) -> None:
    """Create the hidden ``.logharbor-lifecycle`` state index if it is missing (racing creators tolerated)."""
    if not client.indices.exists(index=LIFECYCLE_INDEX):
        try:
            # a replica wherever a second node exists: losing one node must not lose lifecycle state
            client.indices.create(index=LIFECYCLE_INDEX, body={
                "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True}},
                "mappings": {"dynamic": False, "properties": {
                    "type": {"type": "keyword"}, "name": {"type": "keyword"}, "index": {"type": "keyword"},
                    "policy": {"type": "keyword"}, "state": {"type": "keyword"}, "hash": {"type": "keyword"},
                }},
            })
        except TransportError as exc:
            if "resource_already_exists" not in str(exc):
                raise
