"""The shipper's own counters and gauges, rendered as Prometheus text and into the status file.

Why not prometheus_client: a plain dict is all a single-process agent needs, keeps the import
cost off every host, and lets tests read values without a global registry.
"""

from __future__ import annotations

from collections import defaultdict

HELP: dict[str, str] = {
    "events_read_total": "Events produced by sources",
    "events_sent_total": "Events accepted by a gateway (202)",
    "events_spooled_total": "Events written to the disk spool",
    "events_rejected_total": "Events the gateway refused (4xx or per-entry rejections), kept in rejected/",
    "events_dropped_total": "Events dropped (UDP/syslog buffer or spool full)",
    "batches_sent_total": "Batches answered 202",
    "batches_retried_total": "Send attempts that failed and were retried",
    "batches_split_total": "Batches split after a 413",
    "batches_poisoned_total": "Batches the gateway called invalid (400): in rejected/, never resent",
    "batches_refused_total": "Batches refused with another 4xx (401, 403, 415, ...): in rejected/",
    "spool_bytes": "Bytes in the disk spool",
    "spool_batches": "Batches in the disk spool",
    "spool_full": "1 while the spool is full and file tails are held back",
    "gateway_up": "1 when the last send reached a gateway",
    "file_truncations_total": "Files found truncated (copytruncate or in place)",
    "truncate_lost_bytes_total": "Bytes known written but unread when a file was truncated",
    "files_open": "Files currently tailed",
}


class Metrics:
    """Counters only go up; gauges are set. Labels are folded into the name as Prometheus labels."""

    def __init__(self) -> None:
        self.values: dict[str, float] = defaultdict(float)

    def inc(self, name: str, value: float = 1.0) -> None:
        self.values[name] += value

    def set(self, name: str, value: float) -> None:
        self.values[name] = value

    def get(self, name: str) -> float:
        return self.values.get(name, 0.0)

    def render(self) -> str:
        """Prometheus text exposition format; every metric in HELP is exported, at 0 until it moves
        (so dashboards and alerts see a series from the first scrape, not only after a first drop)."""
        lines = []
        values = dict(self.values)
        seen = {name.split("{", 1)[0] for name in values}
        values.update({base: 0.0 for base in HELP if base not in seen})
        for name in sorted(values):
            base = name.split("{", 1)[0]
            metric = f"logharbor_shipper_{name}"
            if base in HELP and "{" not in name:
                kind = "counter" if base.endswith("_total") else "gauge"
                lines.append(f"# HELP logharbor_shipper_{base} {HELP[base]}")
                lines.append(f"# TYPE logharbor_shipper_{base} {kind}")
            lines.append(f"{metric} {values[name]:g}")
        return "\n".join(lines) + "\n"
