"""A search that matches an index whose primary has not started yet waits for it (real cluster).

CI caught this: the spec-examples test searched a tenant's streams just as the pipeline's
first bulk created their first backing index, and OpenSearch answered 503 "all shards
failed" with no shard failure listed. The clients LogHarbor builds wait that out
(``ShardStartWaitTransport``); a client without it is shown to hit the window, so the
test would notice if the race stopped being reproducible here.
"""

from __future__ import annotations

import asyncio
import uuid

from opensearchpy import AsyncOpenSearch, TransportError

from logharbor.config import OpenSearchSettings
from opensearch.client import async_client, shards_starting


async def _race(client: AsyncOpenSearch, admin: AsyncOpenSearch, rounds: int) -> list[BaseException]:
    """Create an index ``rounds`` times while searching its pattern; the search errors seen."""
    errors: list[BaseException] = []
    prefix = "lh-race-" + uuid.uuid4().hex[:8]
    try:
        for i in range(rounds):
            name = f"{prefix}-{i}"
            create = asyncio.create_task(admin.indices.create(index=name, body={
                "settings": {"number_of_shards": 1, "number_of_replicas": 0}}))
            while not create.done():
                try:
                    await client.search(index=f"{prefix}-*", body={"size": 0},
                                        params={"ignore_unavailable": "true"})
                except TransportError as exc:
                    errors.append(exc)
                    break
            await create
            await admin.indices.delete(index=name)
    finally:
        await admin.indices.delete(index=f"{prefix}-*", params={"ignore_unavailable": "true"})
    return errors


async def test_search_racing_index_creation_waits_for_the_primary(os_url):
    settings = OpenSearchSettings(url=os_url)
    admin = async_client(settings)
    plain = AsyncOpenSearch(hosts=[os_url])
    ours = async_client(settings)
    try:
        seen = await _race(plain, admin, rounds=15)
        assert seen and all(shards_starting(e) for e in seen), (
            "a plain client no longer sees the 503 while an index starts; the race this test guards "
            f"cannot be shown here: {seen[:1]}")
        assert await _race(ours, admin, rounds=15) == []
    finally:
        for c in (admin, plain, ours):
            await c.close()
