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


def generic_from_bytes(data: bytes) -> Envelope:
    """Decoding as first written: the members present as keyword arguments, ``meta`` {} when absent."""
    obj = orjson.loads(data)
    if not isinstance(obj, dict):
        raise ValueError("envelope: record value is not a JSON object")
    for required in ("id", "tenant", "source", "received_at"):
        if not isinstance(obj.get(required), str):
            raise ValueError(f"envelope: missing or non-string '{required}'")
    known = {k: obj.get(k) for k in Envelope.__slots__ if k in obj}
    known.setdefault("meta", {})
    return Envelope(**known)


def test_from_bytes_decodes_as_the_keyword_build_did() -> None:
    base = {"id": "01J0000000000000000000000", "tenant": "t", "source": "s",
            "received_at": "2026-01-01T00:00:00.000000Z"}
    variants = [
        {}, {"meta": None}, {"meta": {"path": "/x"}}, {"unknown": 1, "level": "INFO"},
        {"fields": {"a": 1}, "raw": "line", "format": "auto", "key_id": "k", "host": "h", "message": ""},
        {"timestamp": 5, "message": {"nested": True}},  # odd types pass through to the pipeline's checks
    ]
    for extra in variants:
        data = orjson.dumps({**base, **extra})
        assert Envelope.from_bytes(data) == generic_from_bytes(data), extra
    bad = [b"[]", b'"x"', orjson.dumps({**base, "id": 1}),
           orjson.dumps({k: v for k, v in base.items() if k != "source"}), orjson.dumps({**base, "received_at": None})]
    for data in bad:
        try:
            generic_from_bytes(data)
        except ValueError as exc:
            expected = str(exc)
        try:
            Envelope.from_bytes(data)
        except ValueError as exc:
            assert str(exc) == expected, data
        else:
            raise AssertionError(f"{data!r} decoded")
