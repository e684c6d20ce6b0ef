"""ECS field names: one place for the names the pipeline writes and the query engine reads.

``SHORT_FIELDS`` is the documented mapping from LogHarbor's short names in the search syntax
to the ECS fields in OpenSearch (docs/QUERY.md lists it for users).
"""

from __future__ import annotations

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
DURATION = "event.duration"
TRACE_ID = "trace.id"
STACK_TRACE = "error.stack_trace"
TAGS = "tags"

SHORT_FIELDS: dict[str, str] = {
    "timestamp": TIMESTAMP,
    "time": TIMESTAMP,
    "level": LEVEL,
    "severity": LEVEL,
    "source": SERVICE,
    "service": SERVICE,
    "host": HOST,
    "hostname": HOST,
    "id": EVENT_ID,
    "ip": CLIENT_IP,
    "client_ip": CLIENT_IP,
    "status": STATUS_CODE,
    "status_code": STATUS_CODE,
    "method": "http.request.method",
    "path": "url.path",
    "url": "url.original",
    "user_agent": "user_agent.original",
    "trace_id": TRACE_ID,
    "request_id": "http.request.id",
    "user_id": "user.id",
    "user_email": "user.email",
    "duration": DURATION,
    "response_time": "event.duration_ms",
    "environment": "labels.environment",
    "env": "labels.environment",
    "tenant": TENANT,
    "pattern": "logharbor.pattern.id",  # log patterns (pipeline/logpatterns, docs/PIPELINE.md)
}


def data_stream_name(tenant: str, retention_class: str) -> str:
    """``logs-<tenant>-<class>``: the data stream for a tenant and retention class."""
    return f"logs-{tenant}-{retention_class}"
