"""``logharbor run --demo``: a living system in minutes — demo logs through real shippers.

Writes realistic multi-service logs (:mod:`ops.demo`) into ``<data_dir>/demo`` and starts one
real ``logharbor shipper`` process per demo service, each with its own ingest key (a key names
its source, so each service shows up under its own name). Prints a read/admin key to sign in
to the dashboard with.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gateway.settings import GatewaySettings
from logharbor.config import StorageSettings, default_data_dir
from opensearch.client import async_client
from opensearch.keys import KeyStore
from ops.demo import FILES, FORMATS, DemoWriter
from ops.devstack.process import spawn
from ui.settings import UISettings

DEMO_RATE = 20.0


@dataclass
class DemoHandle:
    writer: DemoWriter
    task: asyncio.Task
    shippers: list[subprocess.Popen] = field(default_factory=list)
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    async def stop(self) -> None:
        self.stop_event.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, 5)
        self.writer.close()
        for proc in self.shippers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.shippers:
            try:
                await asyncio.to_thread(proc.wait, 30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _shipper_yaml(service: str, path: Path, gateway_url: str, key: str, data_dir: Path) -> str:
    lines = ["gateway:", f"  url: {gateway_url}", f"  api_key: {key}", f"data_dir: {data_dir}", "sources:",
             "  - type: file", f"    name: {service}", f"    paths: [\"{path}\"]", f"    format: {FORMATS[service]}",
             "    start_at: beginning"]
    if service == "orders":  # Java stack traces continue the line that starts with a date
        lines += ["    multiline:", "      start_pattern: '^\\d{4}-\\d{2}-\\d{2} '"]
    return "\n".join(lines) + "\n"


async def start_demo(gateway: GatewaySettings, ui: UISettings, stop: asyncio.Event,
                     rate: float = DEMO_RATE) -> DemoHandle:
    tenant = StorageSettings().default_tenant
    out = default_data_dir() / "demo"
    out.mkdir(parents=True, exist_ok=True)
    client = async_client()
    try:
        store = KeyStore(client)
        read_key, _ = await store.create(tenant=tenant, source="dashboard", scopes=["read", "admin"],
                                         description="logharbor run --demo: sign-in key")
        gateway_url = f"http://{gateway.host}:{gateway.port}"
        shippers = []
        for service, rel in FILES.items():
            key, _ = await store.create(tenant=tenant, source=service, scopes=["ingest"],
                                        description="logharbor run --demo shipper")
            cfg = out / f"shipper-{service}.yaml"
            cfg.write_text(_shipper_yaml(service, out / rel, gateway_url, key, out / f".shipper-{service}"))
            os.chmod(cfg, 0o600)
            cmd = [sys.executable, "-m", "ops.cli", "shipper", "--config", str(cfg)]
            shippers.append(await asyncio.to_thread(spawn, cmd, out / f"shipper-{service}.log", out))
    finally:
        await client.close()
    writer = DemoWriter(out, rate)
    handle = DemoHandle(writer=writer, task=asyncio.create_task(asyncio.sleep(0)), shippers=shippers)
    handle.task = asyncio.create_task(writer.run(handle.stop_event), name="demo-writer")
    print(f"demo: ~{rate:g} events/s of web-api, orders, auth and payments logs under {out}, shipped by "
          f"{len(shippers)} `logharbor shipper` processes", flush=True)
    print(f"demo: sign in at http://{ui.host}:{ui.port}/ with this key (shown once): {read_key}", flush=True)
    return handle
