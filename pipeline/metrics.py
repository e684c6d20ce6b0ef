"""Prometheus metrics of the pipeline (``/metrics``), one place for their names.

With ``--workers N`` each worker process writes these through prometheus-client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set by the supervisor before it spawns them)
and the supervisor's ``/metrics`` aggregates them; gauges therefore declare a multiprocess mode.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_P = "logharbor_pipeline_"

CONSUMED = Counter(_P + "consumed_records", "Kafka records consumed from the raw topic")
INDEXED = Counter(_P + "indexed_documents", "Documents created in OpenSearch", ["retention_class"])
DUPLICATES = Counter(_P + "duplicates_avoided", "Documents already present (409 on op_type=create)")
PARSED = Counter(_P + "parsed_lines", "Raw lines parsed, by detected format", ["format"])
PARSE_FAILURES = Counter(_P + "parse_failures", "Raw lines no parser understood, by format hint", ["format"])
DROPPED = Counter(_P + "dropped_events", "Events dropped on purpose, by filter rule", ["rule"])
SAMPLED_FOLDED = Counter(_P + "sampled_folded_events", "Events folded into a sample, by rule", ["rule"])
# flood aggregation (pipeline/logpatterns/flood.py, issue 17)
FLOOD_FOLDED = Counter(_P + "flood_folded_events", "Events of a flooding pattern folded into a summary, by rule",
                       ["rule"])
FLOOD_SUMMARIES = Counter(_P + "flood_summaries", "Flood summary events stored, by rule", ["rule"])
REDACTED = Counter(_P + "redactions", "Values redacted, by redaction rule", ["rule"])
ENRICH_FAILURES = Counter(_P + "enrich_failures", "Enrichment steps that failed (event kept)", ["step"])
LOOKUP_UNENRICHED = Counter(_P + "lookup_unenriched", "Events a remote lookup passed unenriched (source down, timeout)",
                            ["step", "reason"])
DLQ = Counter(_P + "dead_lettered", "Records sent to the dead-letter topic and index", ["reason"])
PUBLISHED = Counter(_P + "published_documents", "Documents published to the processed topic")
BULK_RETRIES = Counter(_P + "bulk_retries", "Bulk attempts retried after 429/5xx/connection errors", ["cause"])
MAPPING_RETRIES = Counter(_P + "mapping_retries", "Documents retried with offending fields under _malformed")
FIELD_OVERFLOW = Counter(_P + "field_overflow", "Documents stored with fields beyond the index's total-fields limit "
                         "moved to logharbor.overflow (docs/STORAGE.md \"Field explosion\")")
FIELD_OVERFLOW_FIELDS = Counter(_P + "field_overflow_fields", "Field values moved to logharbor.overflow")
POISON_RETRIES = Counter(_P + "poison_retries", "Processing attempts of records whose steps raised")
RULE_RELOADS = Counter(_P + "rules_reloads", "Rules-file reloads, by result", ["result"])
COMMITS = Counter(_P + "offset_commits", "Kafka offset commits")

BULK_LATENCY = Histogram(
    _P + "bulk_latency_seconds",
    "Duration of one _bulk request",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BULK_DOCS = Histogram(
    _P + "bulk_size_documents", "Documents per _bulk request", buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000)
)
BULK_BYTES = Histogram(
    _P + "bulk_size_bytes",
    "Bytes per _bulk request",
    buckets=(1e3, 1e4, 1e5, 5e5, 1e6, 2e6, 5e6, 1e7, 2e7),
)
E2E_LATENCY = Histogram(
    _P + "end_to_end_latency_seconds",
    "received_at (gateway) → indexed (OpenSearch acknowledged)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
)
CONSUMER_LAG = Gauge(
    _P + "consumer_lag",
    "High watermark minus position, per partition",
    ["topic", "partition"],
    multiprocess_mode="livemostrecent",
)
ASSIGNED_PARTITIONS = Gauge(
    _P + "assigned_partitions", "Partitions assigned to this process", multiprocess_mode="livesum"
)
PAUSED = Gauge(
    _P + "consumption_paused",
    "1 while consumption is paused for OpenSearch backpressure",
    multiprocess_mode="livemax",
)
