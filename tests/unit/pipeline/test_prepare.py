"""The per-batch preparation as pure functions: records in, documents and dead letters out,
without Kafka or OpenSearch (pipeline/prepare.py)."""

from __future__ import annotations

from types import SimpleNamespace

from pipeline_testkit import make_event

from pipeline.indexer import Outcome
from pipeline.prepare import (
    MAX_ID_BYTES,
    epoch,
    prepare_records,
    processed_messages,
    settle_outcomes,
)
from pipeline.rules import load_chain
from pipeline.settings import PipelineSettings
from pipeline.step import Chain, Step

SETTINGS = PipelineSettings()
DEFAULT_CHAIN = load_chain(SETTINGS)


def record(offset: int, value: bytes, key: bytes | None = b"web") -> SimpleNamespace:
    return SimpleNamespace(topic="raw", partition=3, offset=offset, key=key, value=value)


def prepare(records, chain: Chain = DEFAULT_CHAIN, attempts: int = 3):
    return prepare_records(records, lambda: chain, attempts, "fallback-tenant")


class RaisesUntil(Step):
    """Raises for the first ``failures`` calls, then passes events through."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def process(self, event):
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("transient bug")
        return event


class DropsDebug(Step):
    name = "no-debug"

    def process(self, event):
        return None if event.message == "drop me" else event


def test_decode_rules_document_route_in_record_order() -> None:
    error = make_event(None, message="db down", level="ERROR", id="e1", tenant="Acme")
    info = make_event('127.0.0.1 - - [19/Jan/2026:10:31:00 +0000] "GET /x HTTP/1.1" 200 5 "-" "curl/8"',
                      fmt="nginx", id="e2")
    prepared = prepare([record(0, error.envelope.to_bytes()), record(1, info.envelope.to_bytes())])
    assert prepared.letters == []
    assert [(i.id, i.index) for i in prepared.items] == [("e1", "logs-acme-errors"), ("e2", "logs-acme-standard")]
    doc = prepared.items[1].doc
    assert doc["http"]["response"]["status_code"] == 200 and doc["url"]["path"] == "/x"
    assert prepared.items[0].doc["log"]["level"] == "ERROR"
    assert prepared.records[0].offset == 0 and len(prepared.records) == 2


def test_undecodable_record_is_a_dead_letter_with_its_position() -> None:
    prepared = prepare([record(7, b"{not json", key=None)])
    assert prepared.items == []
    (letter,) = prepared.letters
    assert (letter.reason_kind, letter.topic, letter.partition, letter.offset) == ("envelope", "raw", 3, 7)
    assert letter.tenant == "fallback-tenant" and letter.source == "unknown" and letter.original == b"{not json"


def test_a_raising_step_is_retried_alone_then_dead_lettered() -> None:
    good = make_event(None, message="fine", id="ok")
    bad = make_event(None, message="x", id="bad")
    recovered = prepare([record(0, good.envelope.to_bytes()), record(1, bad.envelope.to_bytes())],
                        Chain([RaisesUntil(failures=1)]))
    assert sorted(i.id for i in recovered.items) == ["bad", "ok"] and recovered.letters == []
    stuck = prepare([record(1, bad.envelope.to_bytes())], Chain([RaisesUntil(failures=99)]), attempts=3)
    (letter,) = stuck.letters
    assert letter.reason_kind == "processing" and "RuntimeError: transient bug" in letter.reason
    assert letter.event_id == "bad" and letter.tenant == "acme"


def test_dropped_on_purpose_is_neither_indexed_nor_dead_lettered() -> None:
    ev = make_event(None, message="drop me", id="d")
    prepared = prepare([record(0, ev.envelope.to_bytes())], Chain([DropsDebug()]))
    assert prepared.items == [] and prepared.letters == [] and len(prepared.records) == 1


def test_an_id_too_long_for_opensearch_is_a_dead_letter() -> None:
    ev = make_event(None, message="m", id="x" * (MAX_ID_BYTES + 1))
    prepared = prepare([record(0, ev.envelope.to_bytes())])
    assert prepared.items == []
    assert [x.reason for x in prepared.letters] == [f"event id longer than {MAX_ID_BYTES} bytes"]


def test_settle_outcomes_publishes_created_and_duplicates_dead_letters_failures() -> None:
    events = [make_event(None, message=f"m{i}", id=f"id{i}", received_at="2026-01-19T10:31:00Z") for i in range(3)]
    prepared = prepare([record(i, e.envelope.to_bytes()) for i, e in enumerate(events)])
    created, duplicate, failed = prepared.items
    created.outcome, duplicate.outcome, failed.outcome = Outcome.CREATED, Outcome.DUPLICATE, Outcome.FAILED
    failed.reason = "mapper_parsing_exception"
    now = epoch("2026-01-19T10:31:02Z")
    assert now is not None
    settled = settle_outcomes(prepared, now, "fallback-tenant")
    assert [i.id for i in settled.publish] == ["id0", "id1"]
    assert settled.created == {"standard": 1} and settled.duplicates == 1
    assert settled.latencies == [2.0]
    assert [(x.reason_kind, x.reason, x.offset) for x in settled.letters] == [
        ("indexing", "mapper_parsing_exception", 2)]
    (key, value), = list(processed_messages(settled.publish[:1]))
    assert key == b"web" and value.endswith(b',"data_stream":{"name":"logs-acme-standard"}}')


def test_epoch_reads_rfc3339_and_refuses_the_rest() -> None:
    assert epoch("1970-01-01T00:00:10Z") == 10.0
    assert epoch("1970-01-01T00:00:10") == 10.0  # naive = UTC
    assert epoch("yesterday") is None
