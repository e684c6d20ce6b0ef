"""Stack traces in joined events → ``error.type``, ``error.message``, ``error.stack_trace``.

The shipper's multiline presets join a Java trace (``\\tat ...``, ``Caused by:``), a Python
traceback and a Go panic to the line that logged it; here the continuation is read once, line
by line with prefix checks (no regex over the whole text), so the analytics panel "Errors by
type" has a type to count.
"""

from __future__ import annotations

import re
from typing import Any

from logharbor import ecs

_JAVA_EXC = re.compile(
    r"(?:Exception in thread \"[^\"]*+\" )?(?:Caused by: )?"
    r"(?P<type>(?:[A-Za-z_$][\w$]*+\.)++[A-Z][\w$]*+|[A-Z][\w$]*+(?:Exception|Error|Throwable))(?::\s?(?P<msg>.*))?$"
)
_PY_LAST = re.compile(r"(?P<type>[A-Za-z_][\w.]*+)(?::\s?(?P<msg>.*))?$")
_TRACEBACK = "Traceback (most recent call last):"


def _result(etype: str, emsg: str | None, trace: str) -> dict[str, Any]:
    out: dict[str, Any] = {"error.type": etype, ecs.STACK_TRACE: trace}
    if emsg:
        out["error.message"] = emsg.strip()
    return out


def extract(head: str, rest: str) -> dict[str, Any] | None:
    """error.* fields for a first line ``head`` and its continuation ``rest``, or None."""
    if head.startswith("panic: ") or rest.startswith("goroutine ") or "\ngoroutine " in rest:
        msg = head[7:] if head.startswith("panic: ") else head
        if head.startswith("panic: ") or "panic: " in rest:
            if not head.startswith("panic: "):
                for line in rest.split("\n"):
                    if line.startswith("panic: "):
                        msg = line[7:]
                        break
            return _result("panic", msg, rest)
    lines = rest.split("\n")
    if _TRACEBACK in rest:
        # The exception line is the last unindented line of the traceback.
        for line in reversed(lines):
            if line and line[0] not in " \t" and not line.startswith(_TRACEBACK) and not line.startswith("During "):
                m = _PY_LAST.match(line)
                if m is not None:
                    return _result(m["type"], m["msg"], rest)
                break
        return _result("Exception", None, rest)
    java_frames = "\tat " in rest or "\n    at " in rest or rest.startswith(("    at ", "at "))
    for candidate in (head, *lines[:3]):
        if ("Exception" in candidate or "Error" in candidate or "Throwable" in candidate) and (
            java_frames or candidate is not head
        ):
            text = candidate.strip()
            m = _JAVA_EXC.match(text)
            if m is None and candidate is head:
                idx = max(text.rfind(" java."), text.rfind(" org."), text.rfind(" com."))
                m = _JAVA_EXC.match(text[idx + 1 :]) if idx >= 0 else None
            if m is not None and ("." in m["type"] or m["type"].endswith(("Exception", "Error", "Throwable"))):
                return _result(m["type"], m["msg"], rest)
    if java_frames:
        return _result("Exception", None, rest)
    return None
