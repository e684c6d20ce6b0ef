"""pipeline/enrich/correlation.py: trace, span, session, request and user ids (aliases, traceparent, message)."""

from __future__ import annotations

from pipeline_testkit import make_event

from pipeline.enrich.correlation import CorrelationConfig, CorrelationStep


def test_correlation_moves_aliases_and_reads_traceparent_and_message() -> None:
    step = CorrelationStep(CorrelationConfig())
    ev = make_event(
        None,
        message="processing request_id=req-77 for user_id: u42",
        fields={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "sessionId": "s-9"},
    )
    doc = step.process(ev).doc
    assert doc["trace.id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and doc["span.id"] == "00f067aa0ba902b7"
    assert doc["session.id"] == "s-9" and "sessionId" not in doc
    assert doc["http.request.id"] == "req-77" and doc["user.id"] == "u42"
    ev2 = make_event(None, message="m", fields={"trace_id": "abc", "userId": 7})
    doc2 = step.process(ev2).doc
    assert doc2["trace.id"] == "abc" and doc2["user.id"] == "7" and "trace_id" not in doc2
