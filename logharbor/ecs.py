"""ECS field names: one place for the names the pipeline writes and the query engine reads.

``SHORT_FIELDS`` is the documented mapping from LogHarbor's short names in the search syntax
to the ECS fields in OpenSearch (docs/QUERY.md lists it for users).
"""

from __future__ import annotations

from logharbor import vocabulary

TIMESTAMP = "@timestamp"
MESSAGE = "message"
LEVEL = "log.level"
SERVICE = "service.name"
HOST = "host.name"
EVENT_ID = "event.id"
TENANT = "labels.tenant"
RAW = "event.original"
CLIENT_IP = "client.ip"
GEO_LOCATION = "client.geo.location"
STATUS_CODE = "http.response.status_code"
DURATION = "event.duration"  # ECS: nanoseconds
DURATION_MS = "logharbor.duration_ms"  # the millisecond view queries use
INGESTED = "event.ingested"
TRACE_ID = "trace.id"
STACK_TRACE = "error.stack_trace"
TAGS = "tags"

# The search syntax's short names: the reserved concepts plus every vocabulary alias
# (logharbor.vocabulary is the definition; this is its flat view for the query parser and ui).
SHORT_FIELDS: dict[str, str] = {
    **{alias: term.field for alias, term in vocabulary.ALIASES.items()},
    **vocabulary.QUERY_NAMES,
}


def data_stream_name(tenant: str, retention_class: str) -> str:
    """``logs-<tenant>-<class>``: the data stream for a tenant and retention class."""
    return f"logs-{tenant}-{retention_class}"
