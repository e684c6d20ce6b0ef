"""``correlation``: trace, request, session and user ids under their ECS names.

Known spellings (``trace_id``, ``traceId``, ``x-request-id``, W3C ``traceparent``, ...) are
*moved* to ``trace.id``, ``span.id``, ``http.request.id``, ``session.id`` and ``user.id`` so
queries find one name (the query engine maps ``trace_id:`` to ``trace.id`` too). Ids only
mentioned in the message (``request_id=abc``) are picked up when no field carries them.
"""

from __future__ import annotations

import re
from typing import Literal

from logharbor import ecs
from pipeline.event import Event
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig

ALIASES: dict[str, str] = {}
for _target, _names in (
    (
        ecs.TRACE_ID,
        (
            "trace_id",
            "traceId",
            "traceid",
            "trace-id",
            "x-trace-id",
            "x_trace_id",
            "dd.trace_id",
            "X-B3-TraceId",
            "x-b3-traceid",
            "trace",
        ),
    ),
    ("span.id", ("span_id", "spanId", "spanid", "dd.span_id", "x-b3-spanid")),
    (
        "http.request.id",
        (
            "request_id",
            "requestId",
            "requestid",
            "req_id",
            "reqId",
            "x-request-id",
            "x_request_id",
            "X-Request-ID",
            "correlation_id",
            "correlationId",
        ),
    ),
    ("session.id", ("session_id", "sessionId", "sessionid", "sid")),
    ("user.id", ("user_id", "userId", "userid", "uid")),
):
    for _name in _names:
        ALIASES[_name] = _target

_ALIAS_NAMES = frozenset(ALIASES)
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-(?P<trace>[0-9a-f]{32})-(?P<span>[0-9a-f]{16})-[0-9a-f]{2}$")
IN_MESSAGE = re.compile(
    r"(?i)\b(?P<key>trace[_-]?id|span[_-]?id|request[_-]?id|req[_-]?id|correlation[_-]?id|"
    r"session[_-]?id|user[_-]?id)[\"']?[ \t]{0,3}[=:][ \t]{0,3}[\"']?(?P<val>[\w\-.:@]{1,128}+)"
)
_MESSAGE_KEY: dict[str, str] = {
    "trace": ecs.TRACE_ID,
    "span": "span.id",
    "request": "http.request.id",
    "req": "http.request.id",
    "correlation": "http.request.id",
    "session": "session.id",
    "user": "user.id",
}


class CorrelationConfig(StepConfig):
    type: Literal["correlation"] = "correlation"
    from_message: bool = True

    def build(self, settings: PipelineSettings) -> Step:
        return CorrelationStep(self)


class CorrelationStep(Step):
    fail_open = True

    def __init__(self, config: CorrelationConfig) -> None:
        self.name = config.rule_name
        self.from_message = config.from_message

    def process(self, event: Event) -> Event:
        doc = event.doc
        # Most events carry none of the spellings: one C-level pass decides (issue 13).
        for name in () if _ALIAS_NAMES.isdisjoint(doc) else [k for k in doc if k in ALIASES]:
            value = doc.pop(name)
            if value is not None and value != "":
                doc.setdefault(ALIASES[name], value if isinstance(value, str) else str(value))
        tp = doc.pop("traceparent", None)
        if isinstance(tp, str) and (m := TRACEPARENT.match(tp.strip())):
            doc.setdefault(ecs.TRACE_ID, m["trace"])
            doc.setdefault("span.id", m["span"])
        if self.from_message:
            msg = doc.get(ecs.MESSAGE)
            if isinstance(msg, str) and ("id" in msg or "ID" in msg or "Id" in msg):
                for m in IN_MESSAGE.finditer(msg, 0, 8192):
                    key = m["key"].lower().replace("-", "_")
                    target = _MESSAGE_KEY[key.split("_")[0] if "_" in key else key[:-2]]
                    doc.setdefault(target, m["val"])
        return event
