"""The field vocabulary: one definition of which name means which stored field, for ingest,
storage and query alike.

Why one module: the pipeline stores an event under these names and the query engine resolves a
query's names with the same function (:func:`storage_path`), so ``status_code`` typed in the
search box, ``http.response.status_code`` (ECS) and the ``"status": 503`` a client sent are
one field. docs/QUERY.md shows the table.

Where a name goes (in this order):

1. a **vocabulary alias** (``TERMS``) → its canonical field, ECS where ECS has one
   (``status`` → ``http.response.status_code``), its value typed per the term (``"503"`` → 503;
   a value that will not convert is kept in ``_malformed`` and counted, the event is stored);
2. a name LogHarbor used to write inside ECS namespaces that ECS does not define
   (``RENAMED``: ``event.business_hours`` …) → LogHarbor's own namespace ``logharbor.*``
   (queries by the old name still resolve);
3. a name whose first segment is an **ECS field set** (``ECS_ROOTS``: ``http``, ``user`` …), a
   Filebeat module namespace the parsers write (``MODULE_ROOTS``: ``postgresql`` …) or one of
   LogHarbor's roots → kept as it is;
4. anything else — a name **as sent** that is neither ECS nor vocabulary → under ``fields.``
   (``query_type`` → ``fields.query_type``, ``request.headers.authorization`` →
   ``fields.request.headers.authorization``): a root ECS never defines (Filebeat's custom-fields
   convention), so a future ECS field can never collide with a client's name. A query by the
   literal name finds it there.

Dotted and nested spellings of one name are one field: the pipeline flattens nested objects to
dotted keys before this runs and nests them once when it stores.
"""

from __future__ import annotations

from dataclasses import dataclass

# ECS 9.x field sets (first path segments), checked against tests/data/ecs/fields.csv.
ECS_ROOTS: frozenset[str] = frozenset(
    {
        "@timestamp", "agent", "client", "cloud", "container", "data_stream", "destination", "device", "dll",
        "dns", "ecs", "email", "entity", "error", "event", "faas", "file", "gen_ai", "group", "host", "http",
        "labels", "log", "message", "network", "observer", "orchestrator", "organization", "package", "process",
        "registry", "related", "rule", "server", "service", "source", "span", "tags", "threat", "tls", "trace",
        "transaction", "url", "user", "user_agent", "volume", "vulnerability",
    }
)
OWN = "logharbor"  # LogHarbor's derived fields where ECS has no name
CUSTOM = "fields"  # client names outside ECS and the vocabulary, as sent
MALFORMED = "_malformed"  # values whose type conflicts with the mapping ("name=value" lines, text)
# Filebeat-module namespaces the pipeline's parsers write (postgresql.log.*, mysql.slowlog.* ...):
# kept as they are, like ECS, so Dashboards/Kibana users find them where Filebeat puts them.
MODULE_ROOTS: frozenset[str] = frozenset(
    {"postgresql", "mysql", "redis", "mongodb", "nginx", "apache", "haproxy", "kafka", "kubernetes", "system"}
)
ROOTS: frozenset[str] = ECS_ROOTS | MODULE_ROOTS | {OWN, CUSTOM, MALFORMED}


@dataclass(frozen=True, slots=True)
class Term:
    """One well-known concept: its stored field, value kind, unit and the names people use."""

    field: str
    kind: str  # "integer" | "number" | "keyword" | "text" | "ip"
    aliases: tuple[str, ...]
    unit: str | None = None


TERMS: tuple[Term, ...] = (
    Term("http.response.status_code", "integer",
         ("status", "status_code", "http_status", "statusCode", "http_status_code", "response_code")),
    Term(f"{OWN}.duration_ms", "number",
         ("response_time", "response_time_ms", "duration_ms", "latency_ms", "elapsed_ms", "responseTime", "took_ms",
          "rt"), unit="ms"),
    Term("user.id", "keyword", ("user_id", "userId", "uid")),
    Term("user.email", "keyword", ("user_email", "email", "userEmail")),
    Term("user.name", "keyword", ("username", "user_name", "userName")),
    Term("http.request.id", "keyword", ("request_id", "requestId", "req_id", "reqId")),
    Term("trace.id", "keyword", ("trace_id", "traceId")),
    Term("span.id", "keyword", ("span_id", "spanId")),
    Term("error.message", "text", ("error", "error_message", "err", "errorMessage", "err.message")),
    Term("error.stack_trace", "text", ("stack", "stack_trace", "stacktrace", "err.stack", "exc_info")),
    Term("error.type", "keyword", ("err.type", "error_type", "exception")),
    Term("client.ip", "ip", ("client_ip", "remote_addr", "ip", "clientIp", "remote_ip")),
    Term("http.request.method", "keyword", ("method", "http_method", "verb")),
    Term("url.path", "keyword", ("path", "uri", "request_path")),
    Term("url.original", "keyword", ("url", "request_url")),
    Term("user_agent.original", "keyword", ("user_agent", "userAgent", "http_user_agent")),
    Term("http.response.bytes", "integer", ("bytes", "bytes_sent", "body_bytes_sent", "response_size")),
    Term("process.pid", "integer", ("pid",)),
    Term("process.thread.name", "keyword", ("thread", "thread_name", "threadName")),
    Term("log.logger", "keyword", ("logger", "logger_name", "name")),
)
# Units of aliases whose values are not in the term's unit (multiplied into it when stored).
ALIAS_SCALE: dict[str, float] = {"rt": 1000.0}  # nginx $request_time: seconds

# Where LogHarbor used to put derived fields inside ECS namespaces ECS does not define.
RENAMED: dict[str, str] = {
    "event.received": "event.ingested",
    "event.business_hours": f"{OWN}.business_hours",
    "event.hour_of_day": f"{OWN}.hour_of_day",
    "event.day_of_week": f"{OWN}.day_of_week",
    "event.is_error": f"{OWN}.is_error",
    "event.duration_ms": f"{OWN}.duration_ms",
    "event.duration_category": f"{OWN}.duration_category",
    "event.sampled_count": f"{OWN}.sampled_count",
    "log.level_original": f"{OWN}.level_original",
    "host.datacenter": f"{OWN}.datacenter",
    "service.component": f"{OWN}.component",
    "session.id": f"{OWN}.session_id",
    "source_name": f"{OWN}.source_name",
}

# Short names of the search syntax for the reserved concepts (query side only: the gateway reads
# these concepts into the envelope, so they never arrive as data).
QUERY_NAMES: dict[str, str] = {
    "timestamp": "@timestamp", "time": "@timestamp",
    "level": "log.level", "severity": "log.level",
    "source": "service.name", "service": "service.name",
    "host": "host.name", "hostname": "host.name",
    "id": "event.id", "tenant": "labels.tenant",
    "environment": "labels.environment", "env": "labels.environment",
    "duration": "event.duration",
    "pattern": f"{OWN}.pattern.id",  # the patterns step's template id (pipeline/logpatterns)
}

ALIASES: dict[str, Term] = {alias: term for term in TERMS for alias in term.aliases}
TERM_BY_FIELD: dict[str, Term] = {term.field: term for term in TERMS}

_PATHS: dict[str, str] = {}


def storage_path(name: str) -> str:
    """The stored field for a name as sent or as typed in a query (see the module docstring)."""
    found = _PATHS.get(name)
    if found is not None:
        return found
    term = ALIASES.get(name)
    if term is not None:
        found = term.field
    else:
        found = RENAMED.get(name)
        if found is None:
            root = name.split(".", 1)[0]
            found = name if root in ROOTS else f"{CUSTOM}.{name}"
    if len(_PATHS) < 100_000:
        _PATHS[name] = found
    return found


def query_path(name: str) -> str:
    """A query name → the stored field: the short names, then :func:`storage_path` (case-tolerant)."""
    found = QUERY_NAMES.get(name) or QUERY_NAMES.get(name.lower())
    if found is not None:
        return found
    if name not in ALIASES and name.lower() in ALIASES:
        return ALIASES[name.lower()].field
    return storage_path(name)


def coerce(term: Term, value: object, alias: str | None = None) -> tuple[bool, object]:
    """(ok, value typed per ``term``): ``"503"`` → 503; (False, value) when it will not convert."""
    kind = term.kind
    if kind in ("integer", "number"):
        if value.__class__ is bool:
            return False, value
        if isinstance(value, int | float):
            number: float | int = value
        elif isinstance(value, str):
            text = value.strip()
            try:
                number = int(text) if kind == "integer" or text.lstrip("-").isdigit() else float(text)
            except ValueError:
                if kind != "integer":
                    return False, value
                try:
                    as_float = float(text)
                except ValueError:
                    return False, value
                if not as_float.is_integer():
                    return False, value
                number = int(as_float)
        else:
            return False, value
        scale = ALIAS_SCALE.get(alias or "")
        if scale is not None:
            number = number * scale
        if kind == "integer" and isinstance(number, float):
            if not number.is_integer():
                return False, value
            number = int(number)
        return True, number
    if kind in ("keyword", "ip"):
        if isinstance(value, str):
            return True, value
        if isinstance(value, int | float) and value.__class__ is not bool:
            return True, str(value)
        return False, value
    return (True, value) if isinstance(value, str) else (False, value)
