"""``patterns``: every event gets ``logharbor.pattern.id`` and ``logharbor.pattern.template``.

One :class:`~pipeline.logpatterns.miner.Miner` per (tenant, service), created on the first
event of that pair and seeded from the shared store (:mod:`pipeline.logpatterns.store`) so a
restarted or added worker reuses the ids already in the index. After each batch, at most every
``flush_interval_s``, the counts learned since the last write go to the store from a background
thread. The store being down never blocks an event: mining goes on in memory, the write is
retried with the next batch, and the load is retried after ``retry_load_s``.

The fields live in LogHarbor's custom namespace (``logharbor.*``, ECS has no pattern field); the
index template maps them as keywords (dynamic string → keyword), so ``pattern:<id>`` filters and
``group_by=pattern`` groups on ``logharbor.pattern.id``.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from logharbor import ecs
from pipeline.event import Event
from pipeline.logpatterns import store as pattern_store
from pipeline.logpatterns.miner import Miner, Template, TokenCache
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig

log = logging.getLogger(__name__)

PATTERN_ID = "logharbor.pattern.id"
PATTERN_TEMPLATE = "logharbor.pattern.template"


class PatternsConfig(StepConfig):
    type: Literal["patterns"] = "patterns"
    similarity: float = Field(default=0.8, gt=0, le=1)  # share of constant tokens that must agree
    depth: int = Field(default=2, ge=1, le=8)  # leading tokens that route a line in the prefix tree
    max_templates: int = Field(default=2000, ge=1, le=100_000)  # per (tenant, service)
    max_services: int = Field(default=10_000, ge=1)  # miners held by one worker (least recent evicted)
    max_message_chars: int = Field(default=2048, ge=16)  # mined prefix of a long message
    store: bool = True  # share and persist templates in .logharbor-patterns
    store_index: str = pattern_store.PATTERNS_INDEX
    flush_interval_s: float = Field(default=5.0, ge=0)
    retry_load_s: float = Field(default=30.0, ge=0)

    def build(self, settings: PipelineSettings) -> Step:
        return PatternsStep(self)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PatternsStep(Step):
    fail_open = True

    def __init__(self, config: PatternsConfig, client: Any = None) -> None:
        self.name = config.rule_name
        self.cfg = config
        self.miners: dict[tuple[str, str], Miner] = {}
        self.tokens = TokenCache()  # skeleton → tokens, shared by every (tenant, service)
        self.unloaded: dict[tuple[str, str], float] = {}  # load failed at (monotonic)
        self.client = client
        self.writer: pattern_store.StoreWriter | None = None
        self.last_flush = time.monotonic()
        self.max_chars = config.max_message_chars  # read per event: a plain attribute (issue 13)
        if config.store and client is None:
            from opensearch.client import sync_client

            self.client = sync_client()

    def miner(self, tenant: str, service: str) -> Miner:
        key = (tenant, service)
        miner = self.miners.get(key)
        if miner is not None and key not in self.unloaded:
            return miner
        if miner is None:
            if len(self.miners) >= self.cfg.max_services:
                self.miners.pop(next(iter(self.miners)))
            miner = self.miners[key] = Miner(tenant, service, depth=self.cfg.depth,
                                             similarity=self.cfg.similarity, max_templates=self.cfg.max_templates)
        failed_at = self.unloaded.get(key)
        if self.client is not None and (failed_at is None or time.monotonic() - failed_at >= self.cfg.retry_load_s):
            self.seed(miner)
        return miner

    def seed(self, miner: Miner) -> None:
        """Load the stored templates of the miner's (tenant, service); remember a failure."""
        key = (miner.tenant, miner.service)
        try:
            for doc in pattern_store.load(self.client, miner.tenant, miner.service, self.cfg.max_templates,
                                  self.cfg.store_index):
                miner.load(doc.get("template", ""), int(doc.get("count") or 0), doc.get("merged_ids") or ())
            self.unloaded.pop(key, None)
        except Exception:
            log.warning("pattern store load failed for %s/%s; mining in memory", *key, exc_info=True)
            self.unloaded[key] = time.monotonic()

    def process(self, event: Event) -> Event:
        doc = event.doc
        message = doc.get(ecs.MESSAGE)
        if not isinstance(message, str) or not message:
            return event
        if len(message) > self.max_chars:
            message = message[: self.max_chars]
        key = (str(doc.get(ecs.TENANT) or ""), str(doc.get(ecs.SERVICE) or ""))
        miner = self.miners.get(key)
        if miner is None or key in self.unloaded:
            miner = self.miner(*key)
        template = miner.add(message, self.tokens.tokens(message))
        doc[PATTERN_ID] = template.id
        doc[PATTERN_TEMPLATE] = template.text
        return event

    def deltas(self) -> list[pattern_store.PatternDelta]:
        """What the store does not hold yet; marks it as handed over."""
        now = _iso(time.time())
        out: list[pattern_store.PatternDelta] = []
        for miner in self.miners.values():
            for template in miner.by_id.values():
                if not template.dirty:
                    continue
                out.append(_delta(miner, template, now))
        return out

    def flush(self) -> None:
        if self.client is None or time.monotonic() - self.last_flush < self.cfg.flush_interval_s:
            return
        self.last_flush = time.monotonic()
        deltas = self.deltas()
        if not deltas:
            return
        if self.writer is None:
            self.writer = pattern_store.StoreWriter(self.client, self.cfg.store_index)
        if not self.writer.submit(deltas):
            for miner in self.miners.values():  # queue full: hand the counts back for the next flush
                for d in deltas:
                    t = miner.by_id.get(d.id)
                    if t is not None:
                        t.saved -= d.delta
                        t.merged_saved -= len(d.merged)
                        t.dirty = True

    def save_now(self) -> int:
        """Write every pending delta synchronously (tests, shutdown); returns documents written."""
        if self.client is None:
            return 0
        return pattern_store.write(self.client, self.deltas(), self.cfg.store_index, refresh=True)

    def __del__(self) -> None:  # a rules reload drops the step: stop its writer thread
        writer = getattr(self, "writer", None)
        if writer is not None:
            try:
                writer.close(timeout_s=5.0)
            except Exception:  # interpreter shutdown
                pass


def _delta(miner: Miner, template: Template, now: str) -> pattern_store.PatternDelta:
    delta = pattern_store.PatternDelta(
        id=template.id, tenant=miner.tenant, service=miner.service, template=template.text,
        delta=template.count - template.saved, first_seen=_iso(template.first_seen), last_seen=now,
        merged=template.merged[template.merged_saved:],
    )
    template.saved = template.count
    template.merged_saved = len(template.merged)
    template.dirty = False
    return delta
