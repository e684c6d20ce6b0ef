"""``logharbor run``: gateway, pipeline, ui, alert evaluator and the lifecycle runner in one process.

The single-node all-in-one. Each role is the same code its own command runs
(``start_gateway``, ``run_pipeline``, ``run_ui``); they share one event loop here, which is
enough for one machine. For more throughput run the roles as separate processes
(``logharbor gateway --workers N``, ``logharbor pipeline --workers N``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import threading

from logharbor.config import StorageSettings

log = logging.getLogger("logharbor.run")


async def run_all(args: argparse.Namespace) -> int:
    from gateway.server import start_gateway
    from gateway.settings import GatewaySettings
    from opensearch.cli import run_lifecycle_forever
    from pipeline.settings import PipelineSettings
    from pipeline.worker import run_pipeline
    from ui.app import run_ui
    from ui.settings import UISettings

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    gw_over = {"port": args.gateway_port} if args.gateway_port is not None else {}
    ui_over = {"port": args.ui_port} if args.ui_port is not None else {}
    gateway_settings = GatewaySettings(**gw_over)
    ui_settings = UISettings(**ui_over)
    gateway = await start_gateway(gateway_settings)
    tasks = [
        asyncio.create_task(run_pipeline(PipelineSettings(), stop), name="pipeline"),
        asyncio.create_task(run_ui(ui_settings, stop), name="ui"),
    ]
    if not args.no_alerter:  # the alert evaluator and sender (alerting/service.py)
        from alerting.service import run_alerter
        from alerting.settings import AlertingSettings

        tasks.append(asyncio.create_task(run_alerter(AlertingSettings(), stop), name="alerter"))
    lifecycle_stop = threading.Event()
    lifecycle = None
    if not args.no_lifecycle:
        schedule = StorageSettings().lifecycle_schedule
        lifecycle = threading.Thread(target=run_lifecycle_forever, args=(lifecycle_stop, schedule),
                                     name="lifecycle", daemon=True)
        lifecycle.start()
    demo = None
    if args.demo:
        from ops.demo_run import start_demo

        demo = await start_demo(gateway_settings, ui_settings, stop)
    print(f"logharbor run: gateway http://{gateway_settings.host}:{gateway.port}  "
          f"ui http://{ui_settings.host}:{ui_settings.port}  pipeline metrics on :{PipelineSettings().http_port}  "
          "(Ctrl-C to stop)", flush=True)
    stop_task = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({stop_task, *tasks}, return_when=asyncio.FIRST_COMPLETED)
    failed = [t for t in tasks if t in done and t.exception() is not None]
    for t in failed:
        print(f"logharbor run: {t.get_name()} stopped: {t.exception()!r}; shutting down", flush=True)
    stop.set()
    lifecycle_stop.set()
    if demo is not None:
        await demo.stop()
    await gateway.stop()
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(t, timeout=30)
    return 1 if failed else 0


def cmd_run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("opensearch").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    return asyncio.run(run_all(args))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="gateway + pipeline + ui (+ lifecycle) in one process (single node)")
    p.add_argument("--gateway-port", type=int)
    p.add_argument("--ui-port", type=int)
    p.add_argument("--no-alerter", action="store_true", help="do not run the alert evaluator here")
    p.add_argument("--no-lifecycle", action="store_true", help="do not run LogHarbor's lifecycle runner here")
    p.add_argument("--demo", action="store_true",
                   help="also generate realistic demo logs and ship them through a real shipper")
    p.set_defaults(handler=cmd_run)
