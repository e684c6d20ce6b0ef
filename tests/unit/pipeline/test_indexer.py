"""Bulk outcomes against a scripted OpenSearch stand-in (the real server is exercised by the
integration tests; here we need exact control over 429s and mapping errors)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from pipeline.indexer import BulkIndexer, IndexItem, Outcome, Stopping, chunk_items, offending_field


class ScriptedBulk:
    """Answers each _bulk with the next scripted per-item statuses (callables get the docs)."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.calls: list[list[dict]] = []

    async def bulk(self, body: bytes) -> dict:
        lines = body.splitlines()
        docs = [orjson.loads(line) for line in lines[1::2]]
        self.calls.append(docs)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        statuses = step(docs) if callable(step) else step
        return {"items": [{"create": s if isinstance(s, dict) else {"status": s}} for s in statuses]}


def items(n: int) -> list[IndexItem]:
    return [IndexItem(index="logs-t-standard", id=f"id{i}", doc={"message": f"m{i}", "n": i}) for i in range(n)]


async def test_created_and_duplicate() -> None:
    client = ScriptedBulk([[201, 409, 201]])
    out = await BulkIndexer(client).index(items(3))  # type: ignore[arg-type]
    assert [i.outcome for i in out] == [Outcome.CREATED, Outcome.DUPLICATE, Outcome.CREATED]


async def test_429_items_are_retried_with_backoff_and_consumption_paused() -> None:
    paused: list[bool] = []
    client = ScriptedBulk([[201, 429, 503], [201, 201]])
    idx = BulkIndexer(client, backoff_initial_s=0.01, on_backpressure=paused.append)  # type: ignore[arg-type]
    out = await idx.index(items(3))
    assert all(i.outcome is Outcome.CREATED for i in out)
    assert [d["n"] for d in client.calls[1]] == [1, 2]
    assert paused[0] is True and paused[-1] is False


async def test_whole_request_errors_are_retried() -> None:
    from opensearchpy.exceptions import ConnectionError as OSConnectionError
    from opensearchpy.exceptions import TransportError

    client = ScriptedBulk([TransportError(429, "too many"), OSConnectionError("N/A", "refused", None), [201]])
    out = await BulkIndexer(client, backoff_initial_s=0.01).index(items(1))  # type: ignore[arg-type]
    assert out[0].outcome is Outcome.CREATED and len(client.calls) == 3


async def test_stop_during_backoff_abandons_the_batch() -> None:
    stop = asyncio.Event()
    client = ScriptedBulk([[429]] * 10)
    idx = BulkIndexer(client, backoff_initial_s=5, stop_event=stop)  # type: ignore[arg-type]
    task = asyncio.create_task(idx.index(items(1)))
    await asyncio.sleep(0.05)
    stop.set()
    with pytest.raises(Stopping):
        await task


MAPPING_ERROR = {
    "status": 400,
    "error": {
        "type": "mapper_parsing_exception",
        "reason": "failed to parse field [http.response.status_code] of type [integer] in document with id 'id0'",
        "caused_by": {"type": "number_format_exception", "reason": 'For input string: "abc"'},
    },
}


async def test_mapping_conflict_retried_once_with_field_moved_to_malformed() -> None:
    client = ScriptedBulk([[MAPPING_ERROR], [201]])
    item = IndexItem(
        index="logs-t-standard",
        id="id0",
        doc={"message": "m", "http": {"response": {"status_code": "abc", "body": {"bytes": 3}}}},
    )
    out = await BulkIndexer(client).index([item])  # type: ignore[arg-type]
    assert out[0].outcome is Outcome.CREATED
    sent = client.calls[1][0]
    assert sent["_malformed"] == 'http.response.status_code="abc"'
    assert sent["http"]["response"] == {"body": {"bytes": 3}}


async def test_mapping_conflict_twice_fails_with_reason() -> None:
    client = ScriptedBulk([[MAPPING_ERROR], [MAPPING_ERROR]])
    item = IndexItem(index="i", id="id0", doc={"http": {"response": {"status_code": "abc"}}, "x": {"y": 1}})
    item2_error = dict(MAPPING_ERROR)
    item2_error["error"] = {**MAPPING_ERROR["error"], "reason": "failed to parse field [x.y] of type [date]"}
    client.script[1] = [item2_error]
    out = await BulkIndexer(client).index([item])  # type: ignore[arg-type]
    assert out[0].outcome is Outcome.FAILED and "mapper_parsing_exception" in (out[0].reason or "")


async def test_other_errors_fail_without_retry() -> None:
    client = ScriptedBulk(
        [[{"status": 400, "error": {"type": "illegal_argument_exception", "reason": "pipeline does not exist"}}]]
    )
    out = await BulkIndexer(client).index(items(1))  # type: ignore[arg-type]
    assert out[0].outcome is Outcome.FAILED and len(client.calls) == 1


def test_chunking_by_count_and_bytes() -> None:
    its = items(10)
    assert [len(c) for c in chunk_items(its, max_docs=4, max_bytes=10**9)] == [4, 4, 2]
    size = len(its[0].body())
    assert [len(c) for c in chunk_items(its, max_docs=100, max_bytes=size * 3)] == [3, 3, 3, 1]
    assert [len(c) for c in chunk_items(its[:2], max_docs=100, max_bytes=1)] == [1, 1]


def test_offending_field() -> None:
    assert offending_field(MAPPING_ERROR["error"]) == "http.response.status_code"
    assert offending_field({"reason": "object mapping for [user] tried to parse field [user] as object"}) == "user"
    assert offending_field({"reason": "no field here"}) is None


async def test_whole_request_4xx_is_bisected_to_the_offending_document() -> None:
    from opensearchpy.exceptions import RequestError

    class RejectsBadId(ScriptedBulk):
        async def bulk(self, body: bytes) -> dict:
            lines = body.splitlines()
            ids = [orjson.loads(line)["create"]["_id"] for line in lines[0::2]]
            self.calls.append(ids)
            if "id3" in ids:
                raise RequestError(400, "action_request_validation_exception", {"error": {"reason": "id is too long"}})
            return {"items": [{"create": {"status": 201}} for _ in ids]}

    client = RejectsBadId([])
    out = await BulkIndexer(client).index(items(8))  # type: ignore[arg-type]
    assert [i.outcome for i in out] == [Outcome.CREATED] * 3 + [Outcome.FAILED] + [Outcome.CREATED] * 4
    assert "400" in (out[3].reason or "")
    assert len(client.calls) <= 1 + 2 + 2 + 2  # log2(8) rounds of halving
