"""User-agent parsing: uap-core (``ua-parser``, Rust and Python resolvers) against the old table.

    .venv/bin/python -m ops.bench.user_agents [--repeat 20]

Accuracy is scored on tests/data/user_agents/uap_core_sample.json (500 real strings sampled from
uap-core's own test cases, which carry the expected answers; see the README there): a field is
right when the family/name is equal and, for versions, the major version is equal (the old table
gave full versions, uap-core major.minor.patch). ``mainstream`` restricts to the strings whose
expected browser, OS or device is one the old table knows by name, so it is not judged on agents
it never tried. Speed: "cold" is one parse of every distinct string with no cache (what a new
agent costs), "cached" the steady state through the step's lru_cache (agents repeat).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "data" / "user_agents" / "uap_core_sample.json"
FIELDS = ("name", "version", "os.name", "os.version", "device.name")
# Names the old table could produce: the "mainstream" subset is the strings expecting one of them.
TABLE_NAMES = {
    "Edge", "Opera", "Samsung Internet", "Yandex Browser", "Firefox", "Chrome Mobile iOS", "Chrome Mobile",
    "Chrome", "Mobile Safari", "Safari", "IE", "Googlebot", "bingbot", "YandexBot", "DuckDuckBot", "Baiduspider",
    "curl", "Wget", "python-requests", "Go-http-client", "okhttp", "Windows", "iOS", "Android", "Mac OS X",
    "Chrome OS", "Linux", "iPhone", "iPad", "Spider",
}

Parse = Callable[[str], dict[str, str]]


def load_corpus(path: Path = CORPUS) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))


def _major(version: str | None) -> str | None:
    return version.split(".")[0] if version else None


def field_ok(key: str, expected: str | None, got: dict[str, str]) -> bool:
    value = got.get(key)
    if key in ("version", "os.version"):
        return _major(value) == _major(expected)
    if key == "os.name" and expected == "Other":
        return value in (None, "Other")
    return value == expected


def score(parse: Parse, corpus: list[dict[str, Any]], mainstream: bool = False) -> dict[str, Any]:
    """Share of right answers per field and per string (all expected fields right)."""
    per_field = {f: [0, 0] for f in FIELDS}
    whole = [0, 0]
    for case in corpus:
        expected: dict[str, str | None] = case["expected"]
        if mainstream and not (set(v for v in expected.values() if v) & TABLE_NAMES):
            continue
        got = parse(case["user_agent"])
        ok_all = True
        for key, want in expected.items():
            ok = field_ok(key, want, got)
            per_field[key][0] += ok
            per_field[key][1] += 1
            ok_all &= ok
        whole[0] += ok_all
        whole[1] += 1
    return {
        "strings": whole[1],
        "accuracy": whole[0] / whole[1] if whole[1] else 0.0,
        "fields": {f: (r / n if n else None, n) for f, (r, n) in per_field.items()},
    }


def _time(parse: Parse, strings: list[str], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for s in strings:
            parse(s)
    return (time.perf_counter() - start) / (repeat * len(strings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="passes over the corpus per timing")
    args = parser.parse_args()

    from ua_parser import BasicResolver, Domain, Parser, load_builtins, load_lazy_builtins

    from ops.bench import ua_legacy_table
    from pipeline.enrich import user_agent

    corpus = load_corpus()
    strings = [c["user_agent"] for c in corpus]
    candidates: dict[str, tuple[Parse, Parse]] = {}
    table_raw = ua_legacy_table.parse_user_agent.__wrapped__
    candidates["old table"] = (table_raw, ua_legacy_table.parse_user_agent)
    basic = Parser(BasicResolver(load_builtins()))
    candidates["uap-core, python resolver"] = (
        lambda s: user_agent.ecs_fields(basic(s[:1024], Domain.ALL).complete()), None)  # type: ignore[dict-item]
    try:
        from ua_parser.regex import Resolver as RegexResolver

        rs = Parser(RegexResolver(load_lazy_builtins()))
        candidates["uap-core, ua-parser-rs"] = (
            lambda s: user_agent.ecs_fields(rs(s[:1024], Domain.ALL).complete()), None)  # type: ignore[dict-item]
    except ImportError:
        print("ua-parser-rs not installed: the Rust resolver is not measured")
    candidates[f"pipeline step ({user_agent.ENGINE}), cached"] = (
        user_agent.parse_user_agent.__wrapped__, user_agent.parse_user_agent)

    print(f"{len(corpus)} user agents from {CORPUS.relative_to(REPO)}")
    print(f"{'parser':40} {'all':>6} {'main':>6} " + " ".join(f"{f:>11}" for f in FIELDS)
          + f" {'cold µs':>9} {'cached µs':>9}")
    results = {}
    for name, (raw, cached) in candidates.items():
        full, main_ = score(raw, corpus), score(raw, corpus, mainstream=True)
        cold = _time(raw, strings, max(1, args.repeat // 10))
        warm = None
        if cached is not None:
            cached(strings[0])
            for s in strings:
                cached(s)
            warm = _time(cached, strings, args.repeat)
        results[name] = (full, main_, cold, warm)
        fields = " ".join(f"{(v or 0) * 100:10.1f}%" for v, _ in full["fields"].values())
        print(f"{name:40} {full['accuracy'] * 100:5.1f}% {main_['accuracy'] * 100:5.1f}% {fields} "
              f"{cold * 1e6:9.1f} {'' if warm is None else f'{warm * 1e6:9.2f}'}")
    base_cold = results["old table"][2]
    for name, (_, _, cold, _) in results.items():
        print(f"cold cost ratio {name} / old table: {cold / base_cold:.2f}")
    print(f"mainstream subset: {results['old table'][1]['strings']} strings")


if __name__ == "__main__":
    main()
