"""Cost per event (issue 13): what one stored event costs in bytes and CPU, in one run.

    LOGHARBOR_OPENSEARCH_URL=http://127.0.0.1:9200 LOGHARBOR_KAFKA_BOOTSTRAP=127.0.0.1:9092 \\
        .venv/bin/python -m ops.bench.cost --docs 30000 --rounds 3      # or --quick

Figures, all from this one run:
1. pipeline processing µs per event (CPU time, ``ops/bench/ingest``'s own code path: envelope
   decode → rules → ECS document → JSON) for the ingest mix and for the real-format corpus;
2. gateway CPU µs per event for 100-event gzip batches (``ops/bench/gateway``'s machinery:
   a real ``logharbor gateway`` process, saturated, psutil CPU time of it and its workers);
3. per mapping variant (``ops/bench/cost_variants.py``), in interleaved rounds whose variant
   order rotates: bulk docs/s on the SAME pipeline output documents, ÷ the default-mapping
   index's docs/s in the same round; stored bytes per event ÷ raw line bytes after a force
   merge to one segment, for the ingest mix and for tests/data/formats/ (real lines, first
   round only); and whether the wildcard forms return the template's answers.
Plain indices ``bench-cost-<run>-...`` on the shared devstack, all deleted at the end; no
cluster setting is changed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from opensearchpy import OpenSearch, TransportError
from opensearchpy.helpers import async_bulk

from logharbor.config import KafkaSettings, OpenSearchSettings
from logharbor.envelope import Envelope
from logharbor.ids import stable_id
from opensearch.client import async_client, sync_client
from ops.bench.cost_math import median_ratios, per_event, raw_bytes_per_line, same_answers, storage_ratio
from ops.bench.cost_variants import FURTHER, QUERIES, QUERY_FIELDS, Variant, build_variants, query_body
from ops.bench.ingest import delete_topics, make_envelopes, processing_rate, python_reference_us

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "formats"
COMPONENTS = ROOT / "index_templates" / "component_templates"
DATA_DIR: Path | None = None  # --data-dir: print each index's bytes per Lucene structure


def repo_template() -> dict[str, Any]:
    """The ``logs-*-standard`` template as this checkout's files compose it (settings, then the
    ECS component; the class template only adds ``_meta``): what the next rollover would get,
    which is what a template change must be measured on — the devstack may run an older one."""
    settings: dict[str, Any] = {"index": {}}
    mappings: dict[str, Any] = {}
    for name in ("logharbor-settings", "logharbor-ecs-mappings"):
        part = json.loads((COMPONENTS / f"{name}.json").read_text())["template"]
        settings["index"].update(part.get("settings", {}).get("index", {}))
        mappings.update(part.get("mappings", {}))
    return {"settings": settings, "mappings": mappings}


def say(text: str) -> None:
    print(text, flush=True)


def corpus_lines() -> list[str]:
    """Every non-empty line of the real-log corpus (one line = one event; multiline presets ignored)."""
    return [ln for f in sorted(CORPUS.glob("*/*.log")) for ln in f.read_text(errors="replace").splitlines() if ln]


def corpus_envelopes(tenant: str, lines: list[str]) -> list[Envelope]:
    return [
        Envelope(id=stable_id("cost", tenant, i), tenant=tenant, source=f"svc-{i % 7}",
                 received_at="2026-01-19T10:30:01Z", raw=line, format="auto",
                 meta={"environment": "staging", "host": f"host-{i % 20}"})
        for i, line in enumerate(lines)
    ]


def gateway_cpu_us(seconds: float, clients: int) -> tuple[float, float]:
    """(gateway CPU µs per event, accepted events/s) for 100-event gzip batches, one worker."""
    from gateway.testing import GatewayProcess, create_topic, keys
    from ops.bench.gateway import gateway_cpu_s, make_batches, saturate

    kafka = KafkaSettings()
    url = OpenSearchSettings().url
    key, _ = keys(url, "create", tenant="benchcost", source="bench", scopes=["ingest"], rate=1e9, burst=1e9)
    topic = create_topic(kafka.bootstrap, partitions=6)
    bodies = make_batches(200, 100)
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": topic, "LOGHARBOR_GATEWAY_MAX_CONSUMER_LAG": "0",
           "LOGHARBOR_GATEWAY_MAX_CONCURRENT_REQUESTS": "4096", "LOGHARBOR_LOG_LEVEL": "WARNING"}
    try:
        with GatewayProcess(env=env, workers=1) as gw:
            gw.wait_ready()
            asyncio.run(saturate(gw.url + "/ingest", key, bodies, clients, 1.5, 100))  # warm-up
            cpu0, t0 = gateway_cpu_s(gw), time.perf_counter()
            rate, statuses = asyncio.run(saturate(gw.url + "/ingest", key, bodies, clients, seconds, 100))
            events = rate * (time.perf_counter() - t0)
            cpu = gateway_cpu_s(gw) - cpu0
        if set(statuses) != {202}:
            say(f"  gateway statuses: {statuses}")
        return per_event(cpu, int(events)) * 1e6, rate
    finally:
        keys(url, "revoke", key)
        asyncio.run(delete_topics(kafka, [topic]))


async def _bulk(index: str, docs: list[tuple[str, dict[str, Any]]], chunk: int) -> tuple[float, list[str]]:
    """(docs/s, a reason per rejected document)."""
    client = async_client(OpenSearchSettings())
    actions = ({"_op_type": "create", "_index": index, "_id": _id, "_source": d} for _id, d in docs)
    try:
        started = time.perf_counter()
        ok, errors = await async_bulk(client, actions, chunk_size=chunk, max_chunk_bytes=8 * 1024 * 1024,
                                      raise_on_error=False, refresh=False)
        elapsed = time.perf_counter() - started
    finally:
        await client.close()
    reasons = [str(e.get("create", {}).get("error", {}).get("reason", e))[:120]
               for e in (errors if isinstance(errors, list) else [])]
    return ok / elapsed, reasons


def store_bytes(client: OpenSearch, index: str) -> tuple[int, int]:
    """(primary segment bytes, docs) after a force merge to one segment.

    The bytes are the merged segment's own size (``_cat/segments``), not the index's store
    stats: on the same 30,000 documents the store stats read 357, 496 and 912 B/event in three
    runs (files of merged-away segments still on disk, or counted before they were all
    written), while the one segment measured 518-519 B/event every time."""
    client.indices.refresh(index=index)
    client.indices.forcemerge(index=index, max_num_segments=1, flush=True)
    segs: list[dict[str, Any]] = []
    for _ in range(60):  # until the merge is visible: exactly one primary segment (0 when empty)
        client.indices.refresh(index=index)
        segs = [s for s in client.cat.segments(index=index, format="json", bytes="b") if s.get("prirep") == "p"]
        docs = sum(int(s["docs.count"]) for s in segs)
        if len(segs) == (1 if docs else 0):
            break
        time.sleep(0.5)
    # events, not Lucene documents (a nested field would add hidden ones to docs.count)
    return sum(int(s["size"]) for s in segs), int(client.count(index=index)["count"])


# Lucene file extension → what it holds (the breakdown of ``--data-dir``)
STRUCTURES = {"fdt": "stored (_source, _id)", "fdx": "stored (_source, _id)", "fdm": "stored (_source, _id)",
              "tim": "terms", "tip": "terms", "tmd": "terms", "doc": "postings", "pos": "positions",
              "pay": "positions", "dvd": "doc values", "dvm": "doc values", "kdd": "points", "kdi": "points",
              "kdm": "points", "nvd": "norms", "nvm": "norms"}


def file_breakdown(client: OpenSearch, index: str, data_dir: Path) -> dict[str, int]:
    """Bytes per Lucene structure of the index's primary shard, read from the node's data
    directory (``--data-dir``; only where the bench runs beside the node)."""
    uuid_ = client.indices.get_settings(index=index)[index]["settings"]["index"]["uuid"]
    out: dict[str, int] = {}
    for f in (data_dir / "indices" / uuid_ / "0" / "index").iterdir():
        kind = STRUCTURES.get(f.suffix.lstrip("."), "other")
        out[kind] = out.get(kind, 0) + f.stat().st_size
    return out


def answers(client: OpenSearch, index: str, query: dict[str, Any]) -> set[str] | str:
    try:
        res = client.search(index=index, body={"query": query, "size": 10_000, "_source": False,
                                               "track_total_hits": True})
    except Exception as exc:  # the table shows why a form failed on a variant
        return f"error: {str(exc)[:80]}"
    return {h["_id"] for h in res["hits"]["hits"]}


def load(client: OpenSearch, index: str, v: Variant, docs: list[tuple[str, dict[str, Any]]],
         chunk: int) -> tuple[float, list[str], int, int]:
    """Create ``index`` with the variant, bulk the docs: (docs/s, rejections, store bytes, docs)."""
    client.indices.create(index=index, body=v.body)
    if v.doc is not None:
        docs = [(i, v.doc(d)) for i, d in docs]
    rate, errors = asyncio.run(_bulk(index, docs, chunk))
    size, count = store_bytes(client, index)
    if DATA_DIR is not None:
        parts = file_breakdown(client, index, DATA_DIR)
        say(f"  {index}: " + ", ".join(f"{k} {per_event(b, count):,.0f}" for k, b in
                                       sorted(parts.items(), key=lambda kv: -kv[1])) + " B/event")
    return rate, errors, size, count


def compare_answers(
    client: OpenSearch, index: str, v: Variant, ref: dict[str, set[str]]
) -> dict[str, tuple[str, str]]:
    """Per wildcard form: (variant's own DSL, compiler's current DSL), each ``same`` or
    ``+extra/-missing`` against the template's answers; ✗ = refused under expensive=false."""
    from opensearch.query import compile_query, parse

    out = {}
    for text, kind, word in QUERIES:
        compiled = answers(client, index, compile_query(parse(text)))
        if text not in ref and isinstance(compiled, set):
            ref[text] = compiled  # the template under the compiler's DSL is the reference
        want = ref.get(text, set())
        mine = answers(client, index, query_body(v, kind, word, QUERY_FIELDS.get(text)))
        own, comp = (got if isinstance(got, str) else same_answers(got, want) for got in (mine, compiled))
        out[text] = (own + ("" if v.allowed[kind] else " ✗"), comp)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=30_000, help="ingest-mix events per variant (default 30000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--chunk", type=int, default=2000, help="docs per bulk request")
    parser.add_argument("--gateway-seconds", type=float, default=10.0, help="gateway saturation seconds (0: skip)")
    parser.add_argument("--clients", type=int, default=16, help="gateway load clients")
    parser.add_argument("--only", help="comma-separated variant names (template and default always run)")
    parser.add_argument("--corpus-every", type=int, default=1,
                        help="take every k-th line of the real-format corpus (default 1: all 5,043)")
    parser.add_argument("--field-costs", action="store_true",
                        help="instead of the design variants: the template minus one thing each (docs/STORAGE.md)")
    parser.add_argument("--data-dir", type=Path,
                        help="the node's data path (…/nodes/0): print bytes per Lucene structure per index")
    parser.add_argument("--cluster-template", action="store_true",
                        help="measure the template installed in the cluster (default: this checkout's files)")
    parser.add_argument("--quick", action="store_true", help="3000 docs, 1 round, 3 s gateway: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.docs, args.rounds, args.gateway_seconds = 3000, 1, 3.0
    global DATA_DIR
    DATA_DIR = args.data_dir

    # SIGTERM → SystemExit, so the finally below still deletes this run's indices.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run = uuid.uuid4().hex[:8]
    say(f"cost bench {run}: {args.docs} docs x {args.rounds} rounds, {os.cpu_count()} CPUs, "
        f"python sum(range(1000)) = {python_reference_us():.1f} µs")

    tenant = f"benchcost{run}"
    envs = make_envelopes(tenant, args.docs)
    chain_rate, proc_rate, raw_docs = processing_rate(envs)
    mix = [(_id, orjson.loads(body)) for _, _id, body in raw_docs]
    mix_raw = raw_bytes_per_line(e.raw for e in envs)
    lines = corpus_lines()[:: max(1, args.corpus_every)]
    _, c_proc, c_docs = processing_rate(corpus_envelopes(tenant, lines))
    corpus = [(_id, orjson.loads(body)) for _, _id, body in c_docs]
    corpus_raw = raw_bytes_per_line(lines)
    say(f"pipeline processing (CPU): ingest mix {1e6 / proc_rate:.1f} µs/event = {proc_rate:,.0f} events/s "
        f"(rules alone {chain_rate:,.0f}); real-format corpus ({len(lines)} lines, {len(corpus)} kept) "
        f"{1e6 / c_proc:.1f} µs/event")
    say(f"raw line bytes: ingest mix {mix_raw:.1f}, corpus {corpus_raw:.1f}")

    gw_us = float("nan")
    if args.gateway_seconds > 0:
        gw_us, gw_rate = gateway_cpu_us(args.gateway_seconds, args.clients)
        say(f"gateway CPU (1 worker, 100-event gzip batches): {gw_us:.1f} µs/event at {gw_rate:,.0f} events/s")

    client = sync_client()
    if args.cluster_template:
        tmpl = client.transport.perform_request("POST", f"/_index_template/_simulate_index/logs-{tenant}-standard")
        if "template" not in tmpl:  # a fresh cluster: LogHarbor's templates are not installed yet
            sys.exit("cost bench: no LogHarbor index template matches logs-*-standard on this cluster; "
                     "run `logharbor indices bootstrap` first (or drop --cluster-template)")
        variants = build_variants({"settings": tmpl["template"]["settings"],
                                   "mappings": tmpl["template"]["mappings"]})
    else:
        variants = build_variants(repo_template())
    if args.only:
        keep = {"template", "default", *args.only.split(",")}
        variants = [v for v in variants if v.name in keep]
    elif args.field_costs:
        variants = [v for v in variants if v.name in ("template", "default") or v.name.startswith("minus-")]
    else:
        variants = [v for v in variants if not v.name.startswith("minus-") and v.name not in FURTHER]
    rates: dict[str, list[float]] = {v.name: [] for v in variants}
    sizes: dict[str, list[float]] = {v.name: [] for v in variants}
    errors: dict[str, list[str]] = {v.name: [] for v in variants}
    corpus_size: dict[str, float] = {}
    cells: dict[str, dict[str, tuple[str, str]]] = {}
    corpus_cells: dict[str, dict[str, tuple[str, str]]] = {}
    ref: dict[str, set[str]] = {}
    corpus_ref: dict[str, set[str]] = {}
    prefix = f"bench-cost-{run}"
    try:
        for r in range(args.rounds):
            order = variants[r % len(variants):] + variants[: r % len(variants)]
            if r == 0:  # the reference answers come from the template, so it goes first
                order = variants
            for v in list(order):
                index = f"{prefix}-r{r}-{v.name}".lower()
                try:
                    rate, errs, size, count = load(client, index, v, mix, args.chunk)
                except TransportError as exc:  # a variant OpenSearch refuses is reported, not fatal
                    if v.name in ("template", "default"):
                        raise
                    say(f"round {r + 1}/{args.rounds} {v.name:<22} refused by OpenSearch: {str(exc)[:300]}")
                    variants.remove(v)
                    rates.pop(v.name)
                    sizes.pop(v.name)
                    client.indices.delete(index=index, ignore=[404])
                    continue
                rates[v.name].append(rate)
                sizes[v.name].append(per_event(size, count))
                errors[v.name] += errs
                line = (f"round {r + 1}/{args.rounds} {v.name:<22} {rate:>8,.0f} docs/s  "
                        f"{per_event(size, count):>7,.0f} B/event ({storage_ratio(size, count, mix_raw):.2f}x raw)")
                if r == 0:
                    cells[v.name] = compare_answers(client, index, v, ref)
                    cindex = f"{prefix}-corpus-{v.name}".lower()
                    _, cerrs, csize, ccount = load(client, cindex, v, corpus, args.chunk)
                    errors[v.name] += cerrs
                    if cerrs:
                        line += f" | corpus: {len(cerrs)} rejected, e.g. {cerrs[0]}"
                    corpus_size[v.name] = per_event(csize, ccount)
                    corpus_cells[v.name] = compare_answers(client, cindex, v, corpus_ref)
                    client.indices.delete(index=cindex)
                    line += f" | corpus {corpus_size[v.name]:,.0f} B/event ({corpus_size[v.name] / corpus_raw:.2f}x)"
                if errs:
                    line += f" | {len(errs)} rejected: {errs[0]}"
                say(line)
                client.indices.delete(index=index)
        ratio = median_ratios(rates, "default")
        say(f"\nbaseline (median of {args.rounds} rounds; docs/s ÷ default paired per round)\n")
        say("| variant | docs/s | ÷ default | stored B/event (mix) | ÷ raw line | corpus B/event | ÷ raw line |"
            " rejected docs |")
        say("|---|---|---|---|---|---|---|---|")
        for v in variants:
            b = statistics.median(sizes[v.name])
            say(f"| {v.name} | {statistics.median(rates[v.name]):,.0f} | {ratio[v.name]:.2f} | {b:,.0f} | "
                f"{b / mix_raw:.2f}x | {corpus_size[v.name]:,.0f} | {corpus_size[v.name] / corpus_raw:.2f}x "
                f"| {len(errors[v.name])} |")
        for which, title in ((0, "the variant's own DSL for the form"), (1, "the query compiler's current DSL")):
            say(f"\nwildcard answers vs the template, {title} — ingest mix / corpus "
                "(✗ = refused under allow_expensive_queries=false)\n")
            say("| variant | " + " | ".join(q for q, _, _ in QUERIES) + " |")
            say("|---|" + "---|" * len(QUERIES))
            for v in variants:
                say(f"| {v.name} | " + " | ".join(
                    f"{cells[v.name][q][which]} / {corpus_cells[v.name][q][which]}" for q, _, _ in QUERIES) + " |")
        say("\nvariants:\n" + "\n".join(f"- {v.name}: {v.what}" for v in variants))
        say(f"\ntargets: template ÷ default ≥ 0.90 (now {ratio['template']:.2f}); stored ≤ 2.0x raw "
            f"(now {statistics.median(sizes['template']) / mix_raw:.2f}x); gateway ≤ 10 µs (now {gw_us:.1f}); "
            f"pipeline ≥ 50,000 events/s (now {proc_rate:,.0f})")
    finally:
        client.indices.delete(index=f"{prefix}-*", ignore=[404])
        client.close()


if __name__ == "__main__":
    sys.exit(main())
