"""Envelope.to_bytes is written out member by member for speed (issue 13); its bytes must stay those
of the generic rule it replaced, since the pipeline and any consumer of logharbor.raw read them."""

from __future__ import annotations

import itertools
from collections import OrderedDict

import orjson

from logharbor.envelope import Envelope


def generic(env: Envelope) -> bytes:
    """The rule as first written: every member of as_dict() that is neither None nor {}."""
    return orjson.dumps({k: v for k, v in env.as_dict().items() if v not in (None, {})})


def test_to_bytes_is_byte_identical_to_the_generic_rule() -> None:
    optional = {
        "key_id": [None, "k1"],
        "timestamp": [None, "2026-01-01T00:00:00.000000Z"],
        "level": [None, "INFO", ""],
        "message": [None, "m", "", {}],  # odd types as a hostile record decodes them
        "host": [None, "h"],
        "fields": [None, {}, {"a": 1}, [], OrderedDict()],
        "raw": [None, "line"],
        "format": [None, "auto"],
        "meta": [{}, {"environment": "prod"}, None],
    }
    names = list(optional)
    seen = 0
    for values in itertools.product(*(optional[n] for n in names)):
        env = Envelope(id="01J0000000000000000000000", tenant="t", source="s",
                       received_at="2026-01-01T00:00:00.000000Z", **dict(zip(names, values, strict=True)))
        assert env.to_bytes() == generic(env)
        seen += 1
    assert seen > 1000


def test_round_trip_keeps_every_member() -> None:
    env = Envelope(id="x" * 26, tenant="t", source="s", received_at="2026-01-01T00:00:00.000000Z", key_id="k",
                   timestamp="2026-01-01T00:00:00.000000Z", level="WARN", message="m", host="h",
                   fields={"a": {"b": [1, 2]}}, meta={"level_original": "warning"})
    assert Envelope.from_bytes(env.to_bytes()) == env
