"""Per-protocol counters (issue 18): received, accepted, rejected by reason, dropped, refused.

One set of metrics for every door (``es``, ``otlp``, ``gelf_http``, ``gelf_udp``, ``gelf_tcp``,
``syslog_tcp``, ``syslog_udp``, ...), registered in the gateway's own registry so ``/metrics``
shows them beside the ``/ingest`` totals. "rejected" is a bad event (validation, decoding) the
client was told about; "dropped" is data lost without a reply channel (UDP datagram not from an
allowed network, an expired GELF chunk set, a listener whose key is revoked); "refused" counts
events of whole requests answered 429/503 (the client keeps and retries them).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ProtocolMetrics:
    """Counters labelled by protocol; names start with ``logharbor_gateway_protocol_``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        p = "logharbor_gateway_protocol_"
        self.events = Counter(
            p + "events_total", "Events by protocol and outcome (received, accepted)", ["protocol", "outcome"],
            registry=registry,
        )
        self.rejects = Counter(
            p + "rejected_total", "Events rejected by protocol and reason", ["protocol", "reason"], registry=registry
        )
        self.drops = Counter(
            p + "dropped_total", "Data dropped without a reply channel, by protocol and reason",
            ["protocol", "reason"], registry=registry,
        )
        self.refusals = Counter(
            p + "refused_events_total", "Events of whole requests refused (429/503), by protocol and reason",
            ["protocol", "reason"], registry=registry,
        )
        self.produce_seconds = Histogram(
            p + "kafka_produce_seconds", "Kafka acknowledgement time per request, by protocol", ["protocol"],
            buckets=_BUCKETS, registry=registry,
        )

    def received(self, protocol: str, n: int = 1) -> None:
        self.events.labels(protocol, "received").inc(n)

    def accepted(self, protocol: str, n: int = 1) -> None:
        self.events.labels(protocol, "accepted").inc(n)

    def rejected(self, protocol: str, reason: str, n: int = 1) -> None:
        self.rejects.labels(protocol, reason).inc(n)

    def dropped(self, protocol: str, reason: str, n: int = 1) -> None:
        self.drops.labels(protocol, reason).inc(n)

    def refused(self, protocol: str, reason: str, n: int = 1) -> None:
        self.refusals.labels(protocol, reason).inc(n)
