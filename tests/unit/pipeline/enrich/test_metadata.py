"""pipeline/enrich/metadata.py: envelope meta → host, labels, service fields; the event wins."""

from __future__ import annotations

from pipeline_testkit import make_event

from pipeline.enrich.metadata import MetadataConfig, MetadataStep


def test_metadata_from_envelope_meta() -> None:
    ev = make_event(
        None,
        message="m",
        host=None,
        key_id="k-1",
        meta={
            "host": "web-3",
            "environment": "production",
            "datacenter": "fra1",
            "app_version": "2.4.1",
            "labels": {"team": "core"},
            "path": "/var/log/app.log",
            "unknown": "x",
        },
    )
    doc = MetadataStep(MetadataConfig(static={"labels.cluster": "eu"})).process(ev).doc
    assert doc["host.name"] == "web-3"
    assert doc["labels.environment"] == "production" and doc["service.environment"] == "production"
    assert doc["host.datacenter"] == "fra1" and doc["service.version"] == "2.4.1"
    assert doc["labels.team"] == "core" and doc["labels.cluster"] == "eu" and doc["labels.key_id"] == "k-1"
    assert doc["log.file.path"] == "/var/log/app.log"
    assert "unknown" not in doc


def test_metadata_never_overrides_the_event() -> None:
    ev = make_event(None, message="m", host="from-event", meta={"host": "from-meta"})
    assert MetadataStep(MetadataConfig()).process(ev).doc["host.name"] == "from-event"
