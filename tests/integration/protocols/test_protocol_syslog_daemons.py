"""rsyslog and syslog-ng from Debian's packages as the senders, both on one machine.

The two packages conflict (both provide system-log-daemon), so ops/protocol_clients.sh installs
rsyslog normally and unpacks syslog-ng's .debs into .cache/protocol-clients/syslog-ng. Neither
runs as the system daemon: each test starts the binary in the foreground with its own config,
pid file, control socket, work directory and an input socket of its own (messages are injected
with ``logger -u``), and stops it (SIGTERM, by pid) at the end.

rsyslog: ``omelasticsearch`` to ``/es`` (bulk mode, Basic auth) and ``omfwd`` over TCP with
octet-counting and over UDP to the gateway's syslog listeners. syslog-ng: ``elasticsearch-http()``
to ``/es/_bulk`` and ``network()`` (RFC 5424 over TCP). Every message stored exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from protocol_support import CACHE, INSTALL_HINT, Stack, field, require

pytestmark = [pytest.mark.integration]
SYSLOG_NG = CACHE / "syslog-ng"


@contextmanager
def _daemon(cmd: list[str], env: dict[str, str] | None, ready: Path, log: Path) -> Iterator[subprocess.Popen]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{cmd[0]} did not start: {log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _send(logger: str, sock: Path, tag: str, messages: list[str], priority: str = "local0.warning") -> None:
    for m in messages:
        subprocess.run([logger, "-u", str(sock), "--socket-errors=on", "-t", tag, "-p", priority, m],
                       check=True, timeout=30)


def test_rsyslog_omelasticsearch_and_omfwd_tcp_udp(stack: Stack, tmp_path: Path) -> None:
    rsyslogd = require("/usr/sbin/rsyslogd", "rsyslogd (Debian package rsyslog)")
    modules = next((p for p in Path("/usr/lib").glob("*/rsyslog") if (p / "omelasticsearch.so").exists()), None)
    if modules is None:
        pytest.fail(f"omelasticsearch.so is missing (Debian package rsyslog-elasticsearch): {INSTALL_HINT}")
    logger = require("logger", "logger (util-linux)")
    tenant = "trsys" + uuid.uuid4().hex[:8]
    token = stack.key(tenant, "rsyslog-es")
    sock = tmp_path / "in.sock"
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(f"""
global(workDirectory="{tmp_path}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" CreatePath="on")
module(load="omelasticsearch")
template(name="lhjson" type="list" option.jsonf="on") {{
  property(outname="@timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="message" name="$.msg" format="jsonf")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="severity" name="syslogseverity-text" format="jsonf")
  property(outname="program" name="programname" format="jsonf")
}}
set $.msg = ltrim($msg);  # RFC 3164 MSG keeps the space after the tag
action(type="omelasticsearch" server="http://127.0.0.1:{stack.gw.port}/es" template="lhjson"
       searchIndex="rsyslog" bulkmode="on" uid="rsyslog" pwd="{token}" errorFile="{tmp_path}/es-errors.json"
       action.resumeRetryCount="-1" action.resumeInterval="1")
action(type="omfwd" target="127.0.0.1" port="{stack.listener_ports['syslog_tcp']}" protocol="tcp"
       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
action(type="omfwd" target="127.0.0.1" port="{stack.listener_ports['syslog_udp']}" protocol="udp"
       template="RSYSLOG_SyslogProtocol23Format")
""")
    run = uuid.uuid4().hex[:8]
    messages = [f"rsyslog {run} event {i} user=u{i}" for i in range(6)]
    cmd = [rsyslogd, "-n", "-f", str(conf), "-i", str(tmp_path / "rsyslogd.pid"), "-M", str(modules)]
    with _daemon(cmd, None, sock, tmp_path / "rsyslogd.log"):
        _send(logger, sock, "shopd", messages)
        es_docs = stack.wait_stored(tenant, 6)
        by_msg = stack.by_message(es_docs)
        assert set(by_msg) == set(messages), list(by_msg)
        d = by_msg[messages[2]]
        assert d["log"]["level"] == "WARN" and field(d, "program") == "shopd" and d["host"]["name"]
        assert abs(time.time() - _epoch(d["@timestamp"])) < 300
        for source in ("syslog-tcp", "syslog-udp"):
            fwd = stack.wait_stored(stack.tenant, 6, {"bool": {"must": [
                {"term": {"service.name": source}}, {"match_phrase": {"message": f"rsyslog {run}"}}]}})
            f = {x["message"]: x for x in fwd}[messages[3]]
            assert f["log"]["level"] == "WARN" and f["process"]["name"] == "shopd"
            assert f["log"]["syslog"]["facility"]["name"] == "local0"
    assert not (tmp_path / "es-errors.json").exists() or not (tmp_path / "es-errors.json").read_text().strip()


def _epoch(ts: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def test_syslog_ng_elasticsearch_http_and_network(stack: Stack, tmp_path: Path) -> None:
    binary = SYSLOG_NG / "usr" / "sbin" / "syslog-ng"
    if not binary.exists():
        pytest.fail(f"the extracted syslog-ng is missing ({binary}): {INSTALL_HINT}")
    logger = require("logger", "logger (util-linux)")
    scl = SYSLOG_NG / "usr" / "share" / "syslog-ng" / "include" / "scl"
    tenant = "tsng" + uuid.uuid4().hex[:8]
    token = stack.key(tenant, "syslog-ng-es")
    sock = tmp_path / "in.sock"
    conf = tmp_path / "syslog-ng.conf"
    template = ("$(format-json --scope rfc5424 --exclude DATE --exclude MESSAGE --exclude HOST --exclude LEGACY_MSGHDR"
                " @timestamp=${ISODATE} message=${MESSAGE} host=${HOST} level=${LEVEL})")
    conf.write_text(f"""@version: 3.38
@include "{scl}/elasticsearch/elastic-http.conf"
options {{ keep-hostname(yes); }};
source s_in {{ unix-dgram("{sock}"); }};
destination d_es {{
  elasticsearch-http(url("http://127.0.0.1:{stack.gw.port}/es/_bulk") index("syslog-ng") type("")
                     user("syslog-ng") password("{token}") batch-lines(10) timeout(5)
                     template("{template}"));
}};
destination d_net {{
  network("127.0.0.1" port({stack.listener_ports['syslog_tcp']}) transport("tcp") flags(syslog-protocol));
}};
log {{ source(s_in); destination(d_es); destination(d_net); }};
""")
    libdir = SYSLOG_NG / "usr" / "lib" / "syslog-ng"
    cmd = [str(binary), "-F", "--no-caps", "-f", str(conf), "-R", str(tmp_path / "persist"),
           "-c", str(tmp_path / "ctl"), f"--pidfile={tmp_path / 'pid'}", f"--module-path={libdir / '3.38'}"]
    run = uuid.uuid4().hex[:8]
    messages = [f"syslog-ng {run} event {i}" for i in range(5)]
    with _daemon(cmd, {"LD_LIBRARY_PATH": str(libdir)}, sock, tmp_path / "syslog-ng.log"):
        _send(logger, sock, "inventory", messages, priority="daemon.err")
        es_docs = stack.wait_stored(tenant, 5)
        d = stack.by_message(es_docs)[messages[1]]
        assert d["log"]["level"] == "ERROR" and field(d, "PROGRAM") == "inventory" and d["host"]["name"]
        net = stack.wait_stored(stack.tenant, 5, {"bool": {"must": [
            {"term": {"service.name": "syslog-tcp"}}, {"match_phrase": {"message": f"syslog-ng {run}"}}]}})
        n = {x["message"]: x for x in net}[messages[4]]
        assert n["log"]["level"] == "ERROR" and n["log"]["syslog"]["facility"]["name"] == "daemon"
        assert n["process"]["name"] == "inventory"
