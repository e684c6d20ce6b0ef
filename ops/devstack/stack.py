"""``devstack up|down|status``: start, stop and describe the local OpenSearch and Kafka."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from . import kafka_broker, opensearch_node
from .fetch import fetch, pom_property
from .process import ProcessRecord, load_record, port_in_use, respawn_dead, save_record, state_file, stop
from .settings import DevstackSettings

COMPONENTS = ("opensearch", "kafka")
Log = Callable[[str], None]


def _running(settings: DevstackSettings, name: str) -> ProcessRecord | None:
    rec = load_record(settings.data_dir, name)
    return rec if rec is not None and rec.alive() else None


def up(settings: DevstackSettings, components: Iterable[str] = COMPONENTS, log: Log = print) -> dict[str, bool]:
    """Start what is not running; returns {component: started_now}. Idempotent."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    started: dict[str, bool] = {}
    t0 = time.monotonic()
    for name in components:
        rec = _running(settings, name)
        if rec is not None and rec.dead():
            # one JVM per node and some died (killed, crashed): start those again, same data dir
            back = respawn_dead(rec, settings.data_dir)
            if back:
                save_record(settings.data_dir, rec)
                log(f"{name}: restarted {', '.join(p.info.get('node', p.name) for p in back)} "
                    f"(pids {', '.join(str(p.pid) for p in back)})")
                started[name] = True
                continue
        if rec is not None:
            where = rec.info.get("url") or rec.info.get("bootstrap")
            log(f"{name} is already running (pid {rec.pid}, {where})")
            if name == "kafka":
                kafka_broker.ensure_topics(rec.info["bootstrap"])
            started[name] = False
            continue
        lib = fetch(name, settings.cache_dir, settings.maven, log=log)
        module = opensearch_node if name == "opensearch" else kafka_broker
        rec = module.start(settings, lib, log=log)
        save_record(settings.data_dir, rec)
        started[name] = True
    # wait after starting both, so the two JVMs boot concurrently
    for name, fresh in started.items():
        if not fresh:
            continue
        rec = load_record(settings.data_dir, name)
        assert rec is not None
        try:
            if name == "opensearch":
                # a restart after `up --nodes N` waits for the N nodes the record holds
                nodes = int(rec.info.get("nodes", settings.nodes))
                opensearch_node.wait_healthy(settings.model_copy(update={"nodes": nodes}), rec, log=log)
            else:
                kafka_broker.wait_ready(settings, rec, log=log)
        except Exception:
            down(settings, log=log)
            raise
    if any(started.values()):
        log(f"devstack up in {time.monotonic() - t0:.0f}s (data in {settings.data_dir})")
    return started


def down(settings: DevstackSettings, components: Iterable[str] = COMPONENTS, log: Log = print) -> list[str]:
    """Stop exactly the processes ``up`` recorded; returns the names stopped."""
    stopped = []
    for name in components:
        rec = load_record(settings.data_dir, name)
        if rec is None:
            continue
        if stop(rec):
            stopped.append(name)
            log(f"stopped {name} (pid {rec.pid})")
        # wait for the ports to be released so a following `up` can bind them
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(port_in_use(p) for p in rec.ports):
            time.sleep(0.2)
        state_file(settings.data_dir, name).unlink(missing_ok=True)
    if not stopped:
        log("devstack: nothing running")
    return stopped


def status(settings: DevstackSettings) -> dict:
    """Versions, health, ports, data dir and plugins of what is running."""
    out: dict = {"data_dir": str(settings.data_dir), "cache_dir": str(settings.cache_dir)}
    os_rec = _running(settings, "opensearch")
    os_info: dict = {"running": os_rec is not None,
                     "configured_version": pom_property("opensearch.runner.version")}
    if os_rec:
        os_info.update(pid=os_rec.pid, url=os_rec.info["url"], ports=os_rec.ports, log=os_rec.log,
                       java=os_rec.info["java_major"], heap_mb=os_rec.info["heap_mb"],
                       node_pids={n: p.pid for n, p in opensearch_node.node_processes(os_rec).items()})
        # ask a node that runs (node 1 may be the one that died)
        url = next((p.info.get("url") for p in os_rec.processes() if p._alive() and p.info.get("url")),
                   os_rec.info["url"])
        os_info.update(opensearch_node.describe(url))
    out["opensearch"] = os_info
    k_rec = _running(settings, "kafka")
    k_info: dict = {"running": k_rec is not None, "configured_version": pom_property("kafka.version")}
    if k_rec:
        k_info.update(pid=k_rec.pid, bootstrap=k_rec.info["bootstrap"], ports=k_rec.ports, log=k_rec.log,
                      java=k_rec.info["java_major"], heap_mb=k_rec.info["heap_mb"],
                      reachable=port_in_use(k_rec.ports[0]),
                      brokers={f"127.0.0.1:{p.ports[0]}": {"pid": p.pid, "running": p._alive()}
                               for p in k_rec.processes()})
    out["kafka"] = k_info
    return out


def log_path(settings: DevstackSettings, name: str) -> Path:
    return settings.data_dir / "logs" / f"{name}.log"
