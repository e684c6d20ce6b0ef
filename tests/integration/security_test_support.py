"""Shared by the security tests (issue 16): hostile value strategies, a process-log tail, raw HTTP.

Not a test module. ``test_security_fuzz_ingest.py`` drives a real gateway with these,
``test_security_fuzz_query.py`` a real ui.
"""

from __future__ import annotations

import http.client
import os
import socket

import orjson
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("LOGHARBOR_FUZZ_EXAMPLES", "100"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LogTail:
    """The new part of a process's log since the last look."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pos = 0

    def new(self) -> str:
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        self.pos += len(data)
        return data.decode(errors="replace")


def request(port: int, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------- hostile values

CONTROL = st.characters(min_codepoint=0, max_codepoint=31) | st.sampled_from(["\x7f", "\x85", "\u2028", "\u202e",
                                                                               "\ufeff"])
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)) | CONTROL, max_size=60)
ODD_TEXT = _TEXT | _TEXT.map(lambda t: t + "\x1b[2J\x1b]0;pwned\x07\rFORGED")


def nested(depth: int, leaf: object = 1) -> object:
    value = leaf
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


json_scalar = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | ODD_TEXT
json_value = st.recursive(json_scalar, lambda c: st.lists(c, max_size=3) | st.dictionaries(ODD_TEXT, c, max_size=3),
                          max_leaves=12)
deep_value = st.integers(1, 400).map(nested)
hostile_event = st.fixed_dictionaries({}, optional={
    "message": ODD_TEXT | st.integers(1, 90_000).map(lambda n: "A" * n) | json_value,
    "level": ODD_TEXT | json_scalar,
    "timestamp": st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "now-999999999d", 1e300, -1])
    | ODD_TEXT,
    "host": json_value,
    "fields": json_value | deep_value | st.dictionaries(ODD_TEXT, deep_value, max_size=2),
    "raw": ODD_TEXT,
    "format": st.sampled_from(["auto", "nginx", "json", "syslog", "\x00"]),
    "meta": json_value,
    "labels": json_value,
    "service": json_value | deep_value,
})
def _deep_json(n: int) -> bytes:
    return b"[" * n + b"1" + b"]" * n


def _dumps_or_raw(v: object) -> bytes:
    try:
        return orjson.dumps(v)
    except orjson.JSONEncodeError:  # orjson refuses past 254 levels: write the bytes by hand instead
        return _deep_json(400)


ingest_body = st.one_of(
    st.lists(hostile_event, min_size=1, max_size=8).map(_dumps_or_raw),
    st.lists(hostile_event, min_size=1, max_size=8).map(lambda evs: b"\n".join(_dumps_or_raw(e) for e in evs)),
    deep_value.map(lambda v: _dumps_or_raw([{"message": "m", "fields": v}])),
    st.integers(200, 2000).map(lambda n: _deep_json(n)),
    st.integers(200, 1000).map(lambda n: b'[{"message": "m", "fields": ' + b'{"a":' * n + b"1" + b"}" * n + b"}]"),
    st.binary(max_size=2000),
    st.sampled_from([b'[{"message": "\\ud800"}]', b'[{"message": "a\\u0000b"}]', b"[{\"message\": 1e999}]",
                     b'{"message": "x"' + b" " * 10 + b"}", b"[]", b"null", b'"str"', b"[[[]]]"]),
)




def ensure_templates_retrying(os_client, attempts: int = 5) -> None:
    """``ensure_templates`` that survives other tests bootstrapping the shared cluster at the same
    time (per-tenant lifecycle policies answer 409 version conflicts when two write one)."""
    import time

    from opensearchpy.exceptions import ConflictError
    from test_api_support import ensure_templates

    for i in range(attempts):
        try:
            ensure_templates(os_client)
            return
        except ConflictError:
            if i == attempts - 1:
                raise
            time.sleep(0.5 * (i + 1))
