"""How OpenSearch's failures become API errors (ui/api.py ``opensearch_errors``): the caller's
400s stay 400, overload and a shard still starting are 503 (retry), the rest 502."""

from __future__ import annotations

import pytest
from opensearchpy import TransportError

from ui.api import opensearch_errors
from ui.errors import ApiError


def _raised(exc: Exception) -> ApiError:
    with pytest.raises(ApiError) as info, opensearch_errors():
        raise exc
    return info.value


def _error(status: int, **error: object) -> TransportError:
    return TransportError(status, str(error.get("type")), {"error": error, "status": status})


def test_a_shard_still_starting_is_a_503_with_a_retry_hint():
    err = _raised(_error(503, type="search_phase_execution_exception", reason="all shards failed",
                         root_cause=[], failed_shards=[]))
    assert err.status == 503 and err.extra["retry_after_s"] == 1
    assert "no started copy of a shard" in err.message


def test_a_failed_shard_with_its_reason_stays_an_opensearch_error():
    err = _raised(_error(503, type="search_phase_execution_exception", reason="all shards failed",
                         root_cause=[{"type": "illegal_state_exception", "reason": "boom"}],
                         failed_shards=[{"shard": 0}]))
    assert (err.status, err.message) == (502, "OpenSearch error 503: boom")


def test_the_callers_400_and_overload():
    assert _raised(_error(400, type="query_shard_exception", reason="bad field")).status == 400
    assert _raised(_error(429, type="es_rejected_execution_exception", reason="queue full")).status == 503
