"""``WireEnvelope``: an :class:`~logharbor.envelope.Envelope` held as the dict its record is made of.

Why: the gateway builds one envelope per event and serialises it once. A dataclass envelope
costs a 13-argument ``__init__`` and then, in ``to_bytes``, 13 member tests and a second dict;
issue 13's profile put the two at ~1.5 µs of the gateway's ~16 µs per event. Validation's
common path (gateway/validate.py) already knows which members are empty, so it builds the
record's dict directly — the members ``Envelope.to_bytes`` keeps, in its order — and wraps it
here; ``to_bytes`` is then one ``orjson.dumps``, byte for byte what the dataclass gives
(``tests/unit/gateway/test_wire.py`` holds the two together).

Everything else still sees an ``Envelope``: an instance check passes, every member reads as
on the dataclass (an absent member reads ``None``, ``meta`` ``{}``), and assigning a member
(the gateway re-stamps ``id`` on an identical resend) rewrites the dict by the same rule.
"""

from __future__ import annotations

from typing import Any

import orjson

from logharbor.envelope import Envelope

# the members in Envelope.to_bytes' order
MEMBERS: tuple[str, ...] = (
    "id",
    "tenant",
    "source",
    "received_at",
    "key_id",
    "timestamp",
    "level",
    "message",
    "host",
    "fields",
    "raw",
    "format",
    "meta",
)


def _kept(value: Any) -> bool:
    """``Envelope.to_bytes``' rule for a member: neither None nor an empty mapping."""
    return value is not None and (value.__class__ is str or value != {})


class WireEnvelope(Envelope):
    """An envelope whose members live in ``record``: only the kept ones, in wire order.

    The dataclass slots it inherits stay unset; the properties below shadow them.
    """

    __slots__ = ("record",)

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record

    def to_bytes(self) -> bytes:
        """The record value: what ``Envelope.to_bytes`` gives for the same members."""
        return orjson.dumps(self.record)

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        out = {name: r.get(name) for name in MEMBERS}
        if out["meta"] is None:
            out["meta"] = {}
        return out

    def _assign(self, name: str, value: Any) -> None:
        members = self.as_dict()
        members[name] = value
        self.record = {k: v for k, v in members.items() if _kept(v)}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Envelope):
            return self.as_dict() == other.as_dict()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass


class _LentWireEnvelope(WireEnvelope):
    """A WireEnvelope that handed out a container member (``fields``, ``meta``): its caller may have
    emptied or filled it since, so ``to_bytes`` applies the member rule again."""

    __slots__ = ()

    def to_bytes(self) -> bytes:
        return orjson.dumps({k: v for k, v in self.record.items() if _kept(v)})


def _member(name: str) -> property:
    default: Any = {} if name == "meta" else None

    def get(self: WireEnvelope) -> Any:
        value = self.record.get(name, default)
        if value is default and name == "meta":  # a member a caller may fill in, as on the dataclass
            value = self.record["meta"] = {}  # last in wire order, so the order holds
        if value is not None and value.__class__ is not str and self.__class__ is WireEnvelope:
            self.__class__ = _LentWireEnvelope  # the caller may change it: from now on, filter at to_bytes
        return value

    def set_(self: WireEnvelope, value: Any) -> None:
        self._assign(name, value)

    return property(get, set_, doc=f"the envelope's ``{name}``")


for _name in MEMBERS:
    setattr(WireEnvelope, _name, _member(_name))
del _name
