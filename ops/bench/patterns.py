"""Pattern-mining cost: the pipeline's processing rate with and without the ``patterns`` step.

    LOGHARBOR_OPENSEARCH_URL=http://127.0.0.1:9200 .venv/bin/python -m ops.bench.patterns --docs 20000

Two figures from one run:
1. the processing rate of ops/bench/ingest.py (decode + default rules chain + ECS document +
   JSON, CPU time, no I/O) with the built-in rules, and with the same rules minus the
   ``patterns`` step — alternating for ``--rounds`` rounds, medians, and their ratio (issue 17:
   the drop must stay ≤ 15 %);
2. the miner alone on loghub's 32,000 labelled lines (tests/data/patterns): µs per line;
3. the streaming aggregates' CPU per event (fold into 10 s / 1 min cells, sketches, partial
   documents and their JSON, in batches of 2,000) and the processing rate with both, derived.
The store (``.logharbor-patterns``) is written from a background thread every few seconds, so
its cost is in the CPU time of figure 1 when a round lasts long enough to flush; the bench
tenant's stored templates are deleted at the end.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import yaml

from ops.bench.ingest import make_envelopes, processing_rate, python_reference_us

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "pipeline" / "default_rules.yaml"
CORPUS = Path(__file__).resolve().parents[2] / "tests" / "data" / "patterns"


def rules_without_patterns(directory: str) -> str:
    rules = yaml.safe_load(DEFAULT_RULES.read_text())
    rules["steps"] = [s for s in rules["steps"] if s.get("type") != "patterns"]
    path = os.path.join(directory, "rules-no-patterns.yaml")
    Path(path).write_text(yaml.safe_dump(rules))
    return path


def miner_us_per_line() -> float:
    from pipeline.logpatterns.miner import Miner, TokenCache

    lines_by_source = []
    for path in sorted(CORPUS.glob("*.csv")):
        with path.open(newline="") as fh:
            lines_by_source.append([row["Content"] for row in csv.DictReader(fh)])
    n = sum(len(lines) for lines in lines_by_source)
    started = time.process_time()
    tokens = TokenCache()  # as the step mines: skeleton → tokens cache shared by its miners
    for lines in lines_by_source:
        miner = Miner("bench", "svc")
        for line in lines:
            miner.add(line, tokens.tokens(line))
    return (time.process_time() - started) / n * 1e6


def aggregation_us_per_event(envelopes: list) -> float:
    """CPU µs per event of the streaming-aggregate partials (fold + documents + JSON) of one batch size."""
    import orjson

    from logharbor.envelope import Envelope
    from pipeline.event import Event
    from pipeline.rules import load_chain
    from pipeline.settings import PipelineSettings
    from pipeline.streamagg.rollup import AggregationRules, Observation, partial_documents

    kept = load_chain(PipelineSettings()).run(
        [Event.from_envelope(Envelope.from_bytes(e.to_bytes())) for e in envelopes]).kept
    obs = [Observation(i % 4, i, e.envelope.tenant, int(e.ts.timestamp() * 1000) if e.ts else 0, e.doc)
           for i, e in enumerate(kept)]
    rules = AggregationRules()
    started = time.process_time()
    for k in range(0, len(obs), 2000):  # the pipeline's default batch (max_poll_records)
        for _, doc in partial_documents("raw", obs[k:k + 2000], rules, 0):
            orjson.dumps(doc)
    return (time.process_time() - started) / max(len(obs), 1) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000, help="events per round (default 20000)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (median)")
    args = parser.parse_args()
    tenant = "bench" + uuid.uuid4().hex[:8]
    envelopes = make_envelopes(tenant, args.docs)
    with_p: list[float] = []
    without: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        plain = rules_without_patterns(tmp)
        for _ in range(args.rounds):
            os.environ.pop("LOGHARBOR_PIPELINE_RULES_PATH", None)
            with_p.append(processing_rate(envelopes)[1])
            os.environ["LOGHARBOR_PIPELINE_RULES_PATH"] = plain
            without.append(processing_rate(envelopes)[1])
        os.environ.pop("LOGHARBOR_PIPELINE_RULES_PATH", None)
    a, b = statistics.median(with_p), statistics.median(without)
    print(f"cpus: {os.cpu_count()}  python reference: {python_reference_us():.1f} µs for sum(range(1000))")
    print(f"processing without patterns: {b:,.0f} events/s per process (median of {args.rounds})")
    print(f"processing with patterns:    {a:,.0f} events/s per process")
    print(f"ratio with/without:          {a / b:.3f}  (drop {100 * (1 - a / b):.1f} %, limit 15 %)")
    print(f"pattern cost per event:      {(1 / a - 1 / b) * 1e6:.1f} µs")
    print(f"miner alone, loghub corpus:  {miner_us_per_line():.1f} µs per line")
    agg_us = aggregation_us_per_event(envelopes)
    print(f"streaming aggregates (fold + partial documents + JSON): {agg_us:.1f} µs per event")
    both = 1 / (1 / a + agg_us / 1e6)
    print(f"processing with patterns + aggregates (derived): {both:,.0f} events/s per process, "
          f"ratio {both / b:.3f} (drop {100 * (1 - both / b):.1f} %, limit 15 %)")
    try:
        from opensearch.client import sync_client

        sync_client().delete_by_query(index=".logharbor-patterns", body={"query": {"term": {"tenant": tenant}}},
                                      ignore=[404])
    except Exception:  # no OpenSearch: nothing was stored either
        pass


if __name__ == "__main__":
    main()
