"""``logharbor chaos list`` and ``logharbor chaos run SCENARIO``: faults under load, judged.

See docs/RELIABILITY.md for what each scenario does and the figures measured.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``chaos`` subcommand (collected by ops/cli.py)."""
    p = subparsers.add_parser(
        "chaos",
        help="fault scenarios under load with a conservation oracle",
        description="Start LogHarbor processes of the run's own against the configured OpenSearch and Kafka, "
        "drive a steady load through real shippers, apply one fault, heal, drain and check that every "
        "line written is searchable exactly once. Exit 1 when the oracle fails.",
    )
    sub = p.add_subparsers(dest="chaos_action", metavar="ACTION")
    sub.add_parser("list", help="the scenarios")
    run = sub.add_parser("run", help="run one scenario")
    run.add_argument("scenario")
    run.add_argument("--rate", type=float, default=400.0, help="lines per second written (default 400)")
    run.add_argument("--seconds", type=float, default=30.0, help="load duration (default 30)")
    run.add_argument("--drain", type=float, default=120.0, help="most seconds to wait for the drain (default 120)")
    run.add_argument("--fault-seconds", type=float, default=None,
                     help="how long a timed fault lasts (opensearch-pause: default 60; disk-watermark: hold, 30)")
    run.add_argument("--json", action="store_true", help="print only the JSON summary")
    soak = sub.add_parser("soak", help="steady load, no fault: RSS and open files of every process, with slopes")
    soak.add_argument("--minutes", type=float, default=30.0, help="load duration (default 30)")
    soak.add_argument("--rate", type=float, default=300.0, help="lines per second written (default 300)")
    soak.add_argument("--interval", type=float, default=5.0, help="seconds between resource samples (default 5)")
    soak.add_argument("--json", action="store_true", help="print the summary on one line")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ops.chaos.scenarios import PLANNED, SCENARIOS

    if args.chaos_action == "list":
        for s in SCENARIOS.values():
            print(f"{s.name:22} {s.summary}")
        for name, summary in PLANNED.items():
            print(f"{name:22} (not implemented yet) {summary}")
        return 0
    if args.chaos_action == "soak":
        from logharbor.config import KafkaSettings, OpenSearchSettings
        from ops.chaos.soak import run_soak

        if args.minutes <= 0 or args.rate <= 0 or args.interval <= 0:
            print("--minutes, --rate and --interval must be > 0")
            return 2
        result = run_soak(OpenSearchSettings().url, KafkaSettings().bootstrap, args.minutes, args.rate, args.interval)
        print(json.dumps(result, indent=None if args.json else 2))
        return 0 if result["ok"] else 1
    if args.chaos_action != "run":
        print("usage: logharbor chaos list | run SCENARIO [--rate R] [--seconds S] [--json] | soak --minutes N")
        return 2
    scenario = SCENARIOS.get(args.scenario)
    if scenario is None:
        known = ", ".join(SCENARIOS)
        extra = " (not implemented yet)" if args.scenario in PLANNED else ""
        print(f"unknown scenario {args.scenario!r}{extra}; implemented: {known}")
        return 2
    if args.rate <= 0 or args.seconds <= 0:
        print("--rate and --seconds must be > 0")
        return 2
    from logharbor.config import KafkaSettings, OpenSearchSettings
    from ops.chaos.runner import run_scenario

    if not args.json:
        print(f"chaos: {scenario.name}: {scenario.summary}; {args.rate:g} lines/s for {args.seconds:g} s", flush=True)
    summary = run_scenario(
        scenario, OpenSearchSettings().url, KafkaSettings().bootstrap, args.rate, args.seconds, args.drain,
        fault_s=args.fault_seconds,
    )
    print(json.dumps(summary, indent=None if args.json else 2))
    return 0 if summary["ok"] else 1
