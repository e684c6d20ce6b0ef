"""Settings of the protocol doors (issue 18): ``gateway.protocols`` in YAML,
``LOGHARBOR_GATEWAY_PROTOCOLS__<NAME>`` in the environment (``__`` nests).

Every door is on at its path of the main port (``/es``, ``/v1/logs``, ``/gelf``); dedicated
ports and socket listeners are off until configured, because binding ports an operator did not
ask for is a surprise (and 4318/12201/514 may be taken by a collector already).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ListenerSettings(BaseModel):
    """One socket listener: syslog or GELF over TCP/UDP, bound to one API key.

    The key (the full ``lh_live_…`` token) decides tenant and source for everything received,
    exactly as for HTTP; it is verified through the same key cache, so revoking it stops the
    listener's ingest within one key refresh (drops are counted).
    """

    model_config = {"extra": "forbid"}

    name: str = Field(default="", description="label in metrics and logs; defaults to kind-transport-port")
    kind: str = Field(pattern="^(syslog|gelf)$")
    transport: str = Field(pattern="^(tcp|udp|tls)$")
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)
    key: str = Field(description="the API key whose tenant/source this listener writes as")
    # UDP and plain TCP have no credentials on the wire: only these client networks may send.
    allow: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    timezone: str = Field(default="UTC", description="zone for RFC 3164 timestamps, which carry none")
    max_frame_bytes: int = Field(default=64 * 1024, ge=256)
    tls_cert: str | None = None
    tls_key: str | None = None
    # events are handed to the door in batches: at most this many, or after this many seconds
    batch_events: int = Field(default=500, ge=1)
    batch_s: float = Field(default=0.2, gt=0)
    max_connections: int = Field(default=1000, ge=1)

    @property
    def label(self) -> str:
        return self.name or f"{self.kind}-{self.transport}-{self.port}"


class ProtocolSettings(BaseModel):
    """Elasticsearch-compatible, OTLP, GELF and syslog doors of the gateway."""

    model_config = {"extra": "forbid"}

    es_enabled: bool = True
    # what GET / reports: clients gate features on it (Filebeat/Logstash refuse < 7.x / > own major)
    es_version: str = "8.17.0"
    es_tagline: str = "You Know, for Search"
    es_build_flavor: str = "default"
    es_cluster_name: str = "logharbor"
    # a port serving the Elasticsearch API at its root (for clients that cannot take a path prefix)
    es_port: int | None = Field(default=None, ge=0, le=65535)
    # ids acknowledged recently, so a retried `create` answers 409 without producing again
    es_recent_ids: int = Field(default=200_000, ge=0)
    otlp_enabled: bool = True
    # a port serving OTLP/HTTP at /v1/logs (the OTLP default is 4318)
    otlp_port: int | None = Field(default=None, ge=0, le=65535)
    # a port serving OTLP/gRPC LogsService/Export (the OTLP default is 4317); TLS when both are set
    otlp_grpc_port: int | None = Field(default=None, ge=0, le=65535)
    otlp_grpc_tls_cert: str | None = None
    otlp_grpc_tls_key: str | None = None
    gelf_http_enabled: bool = True
    # GELF UDP chunk reassembly
    gelf_max_chunks: int = Field(default=128, ge=1, le=128)
    gelf_chunk_timeout_s: float = Field(default=5.0, gt=0)
    gelf_chunk_memory_bytes: int = Field(default=32 * 1024 * 1024, ge=65536)
    listeners: list[ListenerSettings] = Field(default_factory=list)
