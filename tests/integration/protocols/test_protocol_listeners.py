"""Syslog and GELF listeners of the gateway with real senders — ``logger`` from util-linux over TCP
(octet-counted and LF) and UDP, TLS from Python's ssl, graypy over GELF UDP (chunked), TCP and
HTTP — through the real gateway, Kafka and pipeline: every message stored exactly once with its
timestamp, level, message and fields; a revoked key stops ingest.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import string
import subprocess
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from protocol_support import Stack, field, require, wait_until

pytestmark = [pytest.mark.integration]


def _source_query(source: str, text: str | None = None) -> dict:
    must: list[dict] = [{"term": {"service.name": source}}]
    if text:
        must.append({"match_phrase": {"message": text}})
    return {"bool": {"must": must}}


def test_syslog_with_logger_tcp_octet_counted_lf_udp_and_tls(stack: Stack) -> None:
    logger = require("logger", "logger (util-linux)")
    run = uuid.uuid4().hex[:8]
    tcp, udp, tls = (stack.listener_ports[n] for n in ("syslog_tcp", "syslog_udp", "syslog_tls"))
    sent = []
    for i in range(3):
        sent.append(f"octet {run} {i}")
        subprocess.run([logger, "--tcp", "--octet-count", "-n", "127.0.0.1", "-P", str(tcp), "--rfc5424",
                        "-t", "billing", "-p", "local3.err", "--sd-id", "order@32473", "--sd-param", f'id="o{i}"',
                        sent[-1]], check=True, timeout=30)
    sent.append(f"lf {run} 0")
    subprocess.run([logger, "--tcp", "-n", "127.0.0.1", "-P", str(tcp), "--rfc3164", "-t", "cron", "-p", "cron.warning",
                    sent[-1]], check=True, timeout=30)
    for i in range(3):
        sent.append(f"udp {run} {i}")
        subprocess.run([logger, "--udp", "-n", "127.0.0.1", "-P", str(udp), "--rfc5424", "-t", "app",
                        "-p", "user.info", sent[-1]], check=True, timeout=30)
    ctx = ssl.create_default_context(cafile=str(stack.tls_dir / "cert.pem"))
    with socket.create_connection(("127.0.0.1", tls), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        for i in range(2):
            msg = f"<30>1 2026-01-19T10:00:0{i}.5Z tls-host daemon 77 - - tls {run} {i}".encode()
            s.sendall(str(len(msg)).encode() + b" " + msg)
        s.unwrap()  # close_notify, as TLS syslog senders close (a bare close may truncate the last records)
        sent.extend(f"tls {run} {i}" for i in range(2))

    octet = stack.wait_stored(stack.tenant, 3, _source_query("syslog-tcp", f"octet {run}"))
    d = next(x for x in octet if x["message"].endswith(" 1"))
    assert d["log"]["level"] == "ERROR" and d["log"]["syslog"]["facility"]["name"] == "local3"
    assert field(d, "log.syslog.structured_data")["order@32473"]["id"] == "o1"
    assert d["log"]["syslog"]["appname"] == "billing" and d["host"]["name"]
    lf = stack.wait_stored(stack.tenant, 1, _source_query("syslog-tcp", f"lf {run}"))[0]
    assert lf["log"]["level"] == "WARN" and lf["process"]["name"] == "cron"
    # 3164 carries no zone: logger writes this machine's local time (UTC), the listener reads it in its
    # configured zone (Europe/Berlin, UTC+1 or +2), so the stored UTC time is that offset earlier
    offset = datetime.now(ZoneInfo("Europe/Berlin")).utcoffset().total_seconds()
    assert abs(_age_s(lf["@timestamp"]) - offset) < 120, lf["@timestamp"]
    stack.wait_stored(stack.tenant, 3, _source_query("syslog-udp", f"udp {run}"))
    tls_docs = stack.wait_stored(stack.tenant, 2, _source_query("syslog-tls", f"tls {run}"))
    assert {x["@timestamp"] for x in tls_docs} == {"2026-01-19T10:00:00.500Z", "2026-01-19T10:00:01.500Z"}
    assert tls_docs[0]["host"]["name"] == "tls-host" and tls_docs[0]["process"]["pid"] == 77


def _age_s(ts: str) -> float:
    from datetime import UTC, datetime

    return (datetime.now(UTC) - datetime.fromisoformat(ts.replace("Z", "+00:00"))).total_seconds()


def test_gelf_with_graypy_udp_chunked_tcp_and_http(stack: Stack) -> None:
    import graypy

    run = uuid.uuid4().hex[:8]
    log = logging.getLogger(f"gelf-{run}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    udp = graypy.GELFUDPHandler("127.0.0.1", stack.listener_ports["gelf_udp"],
                                gelf_chunker=graypy.handler.GELFWarningChunker(chunk_size=1000), debugging_fields=False)
    tcp = graypy.GELFTCPHandler("127.0.0.1", stack.listener_ports["gelf_tcp"], debugging_fields=False)
    tenant = "tgelf" + uuid.uuid4().hex[:8]
    token = stack.key(tenant, "gelf-http")
    http = graypy.GELFHTTPHandler("127.0.0.1", stack.gw.port, path=f"/gelf?key={token}", compress=True)
    # random letters (no digits the pipeline's redaction could mistake for a card number): still several
    # 1000-byte chunks after graypy's zlib compression
    big = "".join(random.choices(string.ascii_lowercase, k=8000))
    for handler, name in ((udp, "udp"), (tcp, "tcp"), (http, "http")):
        log.addHandler(handler)
        log.warning("gelf %s %s warn", name, run, extra={"order_id": f"{name}-1", "_id": "dropped"})
        log.error("gelf %s %s big", name, run, extra={"payload": big})
        log.removeHandler(handler)
        handler.close()
    q_udp = _source_query("gelf-udp", f"gelf udp {run}")
    udp_docs = stack.wait_stored(stack.tenant, 2, q_udp)
    warn = next(d for d in udp_docs if d["message"].endswith("warn"))
    assert warn["log"]["level"] == "WARN" and field(warn, "order_id") == "udp-1" and warn["event"]["id"] != "dropped"
    assert field(next(d for d in udp_docs if d["message"].endswith("big")), "payload") == big  # reassembled chunks
    tcp_docs = stack.wait_stored(stack.tenant, 2, _source_query("gelf-tcp", f"gelf tcp {run}"))
    assert {d["log"]["level"] for d in tcp_docs} == {"WARN", "ERROR"}
    http_docs = stack.wait_stored(tenant, 2)
    assert {d["message"] for d in http_docs} == {f"gelf http {run} warn", f"gelf http {run} big"}
    assert http_docs[0]["host"]["name"] == socket.gethostname()
    # validation and keys on HTTP
    r = requests.post(stack.gw.url + f"/gelf?key={token}", json={"version": "1.1", "host": "h"}, timeout=10)
    assert r.status_code == 400 and "short_message" in r.text
    revoked = stack.key(tenant, "gelf-http")
    stack.revoke(revoked)
    msg = {"version": "1.1", "host": "h", "short_message": "revoked"}
    wait_until(lambda: requests.post(stack.gw.url + "/gelf", json=msg, timeout=10,
                                     headers={"Authorization": f"Bearer {revoked}"}).status_code == 403,
               15, "the revocation")
    assert requests.post(stack.gw.url + "/gelf", json=msg, timeout=10).status_code == 401


def _counter(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_per_protocol(stack: Stack) -> None:
    """received / accepted / rejected-by-reason per protocol; a datagram that is not GELF is counted, not stored."""
    url = stack.gw.url + "/metrics"
    name = "logharbor_gateway_protocol_events_total"
    rejected = "logharbor_gateway_protocol_rejected_total"
    before = requests.get(url, timeout=10).text
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"not gelf at all", ("127.0.0.1", stack.listener_ports["gelf_udp"]))
        s.sendto(b'{"version":"1.1","host":"m","short_message":"metrics probe"}',
                 ("127.0.0.1", stack.listener_ports["gelf_udp"]))

    def grown() -> bool:
        now = requests.get(url, timeout=10).text
        return (_counter(now, rejected, protocol="gelf_udp", reason="invalid_json")
                == _counter(before, rejected, protocol="gelf_udp", reason="invalid_json") + 1
                and _counter(now, name, protocol="gelf_udp", outcome="accepted")
                == _counter(before, name, protocol="gelf_udp", outcome="accepted") + 1)

    wait_until(grown, 15, "the gelf_udp counters")
