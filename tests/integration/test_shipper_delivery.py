"""Delivery: outages and spool, Retry-After, failover, 413 splits, rejects, spool cap, SIGTERM, status.

The gateway is a real HTTP server (tests/shipper_support/recording_gateway.py) that the tests
take down, bring back, or make answer 429/503/413/400. Retry schedules are shortened through
the config; the code paths are the production ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.shipper_support.harness import (
    REPO,
    InProcessShipper,
    LineWriter,
    ShipperProcess,
    check_exactly_once,
    fast_config,
    file_source,
    wait_all,
)
from tests.shipper_support.recording_gateway import RecordingGateway


def assert_ok(report: dict) -> None:
    assert report["ok"], {k: (v[:5] if isinstance(v, list) else v) for k, v in report.items()}


def spool_files(data: Path) -> list[str]:
    d = data / "spool"
    return sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) if d.exists() else []


def test_outage_spools_to_disk_then_resends_oldest_first_without_loss(tmp_path: Path, logs: Path,
                                                                       gw: RecordingGateway) -> None:
    data = tmp_path / "data"
    gw.down()
    w = LineWriter()
    sh = InProcessShipper(fast_config(data, gw, [file_source(str(logs / "*.log"))],
                                      batch={"max_events": 50}, spool={"resend_interval_s": 0.3})).start()
    try:
        for _ in range(5):
            w.write(logs / "app.log", 60)
            time.sleep(0.1)
        assert gw.wait_for(lambda _: len(spool_files(data)) >= 5, 10), spool_files(data)
        # spooled = durable: checkpoints advance although nothing reached the gateway
        assert gw.wait_for(lambda _: sh.source("file-0").status()["lag_bytes"] == 0, 5)
        spooled = spool_files(data)
        spooled_ids = [name.split("-")[1] for name in spooled]
        assert sh.metric("gateway_up") == 0
        gw.up()
        assert_ok(wait_all(gw, w.written, timeout=10))
        assert gw.wait_for(lambda _: spool_files(data) == [], 5)
        sent_keys = [r.idempotency_key for r in gw.requests if r.status == 202]
        resent = [k for k in sent_keys if k in spooled_ids]
        assert resent == spooled_ids, "spool must be resent oldest first"
        assert sh.metric("gateway_up") == 1
    finally:
        sh.stop()


def test_sixty_second_outage_at_a_thousand_lines_per_second(tmp_path: Path, logs: Path,
                                                           gw: RecordingGateway) -> None:
    """The product spec's outage: gateway unreachable for 60 s while the app logs 1,000 lines/s.
    Batches spool to disk, go out oldest first once it is back, every line arrives, spool empties."""
    data = tmp_path / "data"
    gw.down()
    w = LineWriter()
    sh = InProcessShipper(fast_config(data, gw, [file_source(str(logs / "*.log"))])).start()
    try:
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < 60:
            due = int(elapsed * 1000)
            if due > w.n:
                w.write(logs / "app.log", due - w.n)
            time.sleep(0.05)
        assert w.n >= 59_000
        spooled = spool_files(data)
        assert len(spooled) >= 100, f"expected the outage to spool batches, found {len(spooled)}"
        assert not any(r.status == 202 for r in gw.requests)
        gw.up()
        assert_ok(wait_all(gw, w.written, timeout=120))
        assert gw.wait_for(lambda _: spool_files(data) == [], 30)
        spooled_ids = [name.split("-")[1] for name in spooled]
        resent = [r.idempotency_key for r in gw.requests if r.status == 202 and r.idempotency_key in spooled_ids]
        assert resent == spooled_ids, "spool must be resent oldest first"
    finally:
        sh.stop()


def test_429_retry_after_is_honoured(tmp_path: Path, logs: Path, gw: RecordingGateway) -> None:
    gw.answer(429, retry_after=0.8, remaining=1)
    w = LineWriter()
    w.write(logs / "app.log", 10)
    sh = InProcessShipper(fast_config(tmp_path / "data", gw, [file_source(str(logs / "*.log"))])).start()
    try:
        assert_ok(wait_all(gw, w.written))
        first, second = gw.requests[0], gw.requests[1]
        assert first.status == 429 and second.status == 202
        assert second.at - first.at >= 0.75, "the retry came before Retry-After elapsed"
        assert first.idempotency_key == second.idempotency_key  # same batch, same key
        assert spool_files(tmp_path / "data") == []
    finally:
        sh.stop()


def test_503_then_recovery_within_the_retry_schedule_needs_no_spool(tmp_path: Path, logs: Path,
                                                                     gw: RecordingGateway) -> None:
    gw.answer(503, retry_after=0.1, remaining=2)
    w = LineWriter()
    w.write(logs / "app.log", 30)
    sh = InProcessShipper(fast_config(tmp_path / "data", gw, [file_source(str(logs / "*.log"))],
                                      retry={"delays_s": [0.05, 0.05, 0.05]})).start()
    try:
        assert_ok(wait_all(gw, w.written))
        assert [r.status for r in gw.requests[:3]] == [503, 503, 202]
        assert sh.metric("batches_retried_total") == 2 and sh.metric("events_spooled_total") == 0
    finally:
        sh.stop()


def test_failover_to_second_gateway_and_back_to_first(tmp_path: Path, logs: Path, gw: RecordingGateway) -> None:
    backup = RecordingGateway().start()
    try:
        gw.down()
        w = LineWriter()
        sh = InProcessShipper(fast_config(tmp_path / "data", [gw.url, backup.url],
                                          [file_source(str(logs / "*.log"))])).start()
        try:
            w.write(logs / "app.log", 40)
            assert backup.wait_for(lambda b: b.count >= 40, 10)
            gw.up()
            time.sleep(0.6)  # a couple of probe intervals (0.2 s)
            later = LineWriter("later")
            later.write(logs / "app.log", 20)
            assert gw.wait_for(lambda g: set(later.written) <= set(g.raws()), 10)
            assert not set(later.written) & set(backup.raws())
            assert set(w.written) <= set(backup.raws())
        finally:
            sh.stop()
    finally:
        backup.stop()


def test_413_splits_the_batch_until_it_fits(tmp_path: Path, logs: Path, gw: RecordingGateway) -> None:
    gw.answer(max_events=10)
    w = LineWriter()
    w.write(logs / "app.log", 100)
    sh = InProcessShipper(fast_config(tmp_path / "data", gw, [file_source(str(logs / "*.log"))],
                                      batch={"max_events": 100, "max_wait_s": 0.3})).start()
    try:
        assert_ok(wait_all(gw, w.written))
        assert any(r.status == 413 for r in gw.requests)
        assert all(r.events <= 10 for r in gw.requests if r.status == 202)
        assert sh.metric("batches_split_total") >= 3
    finally:
        sh.stop()


def test_400_is_a_poison_batch_dead_lettered_counted_and_not_resent_from_the_spool(tmp_path: Path, logs: Path,
                                                                                  gw: RecordingGateway) -> None:
    """A spooled batch the gateway then calls invalid (400) leaves the spool for a dead-letter
    file instead of being resent forever; the next batches are delivered normally."""
    data = tmp_path / "data"
    gw.down()
    w = LineWriter()
    w.write(logs / "app.log", 4)
    sh = InProcessShipper(fast_config(data, gw, [file_source(str(logs / "*.log"))],
                                      spool={"resend_interval_s": 0.2})).start()
    try:
        assert gw.wait_for(lambda _: len(spool_files(data)) == 1, 10), spool_files(data)
        retried_while_down = sh.metric("batches_retried_total")
        gw.answer(400)
        gw.up()
        assert gw.wait_for(lambda _: spool_files(data) == [], 10), spool_files(data)
        (record_path,) = list((data / "rejected").iterdir())
        record = json.loads(record_path.read_text())
        assert record["status"] == 400 and record["action"] == "poison" and "test says 400" in record["answer"]
        assert [json.loads(e["event"])["raw"] for e in record["events"]] == w.written
        assert sh.metric("batches_poisoned_total") == 1 and sh.metric("events_rejected_total") == 4
        assert sh.metric("batches_refused_total") == 0
        assert sh.metric("batches_retried_total") == retried_while_down
        time.sleep(1.0)  # several resend intervals: a poison batch is never tried again
        assert len([r for r in gw.requests if r.status == 400]) == 1
        gw.answer(202)
        w.write(logs / "app.log", 3)
        assert_ok(wait_all(gw, w.written[4:], timeout=10))
        assert "logharbor_shipper_batches_poisoned_total 1" in sh.shipper.metrics.render()
    finally:
        sh.stop()


def test_4xx_goes_to_rejected_folder_with_the_answer_and_positions_advance(tmp_path: Path, logs: Path,
                                                                          gw: RecordingGateway) -> None:
    gw.answer(400, remaining=1)
    w = LineWriter()
    w.write(logs / "app.log", 5)
    data = tmp_path / "data"
    sh = InProcessShipper(fast_config(data, gw, [file_source(str(logs / "*.log"))])).start()
    try:
        assert gw.wait_for(lambda _: (data / "rejected").exists() and any((data / "rejected").iterdir()), 5)
        (record_path,) = list((data / "rejected").iterdir())
        record = json.loads(record_path.read_text())
        assert record["status"] == 400 and "test says 400" in record["answer"]
        assert [json.loads(e["event"])["raw"] for e in record["events"]] == w.written
        assert sh.metric("events_rejected_total") == 5
        assert len([r for r in gw.requests if r.status == 400]) == 1  # never retried
        assert gw.wait_for(lambda _: sh.source("file-0").status()["lag_bytes"] == 0, 5)
        # per-entry rejections inside a 202 are kept too
        gw.answer(202, reject_raw_containing="bad-entry")
        with open(logs / "app.log", "a") as f:
            f.write("good entry\nbad-entry here\n")
        assert gw.wait_for(lambda _: sh.metric("events_rejected_total") == 6, 5)
        assert "good entry" in gw.raws()
        assert len(list((data / "rejected").iterdir())) == 2
    finally:
        sh.stop()


def test_full_spool_holds_file_tails_back_until_the_gateway_returns(tmp_path: Path, logs: Path,
                                                                    gw: RecordingGateway) -> None:
    gw.down()
    data = tmp_path / "data"
    w = LineWriter()
    sh = InProcessShipper(fast_config(data, gw, [file_source(str(logs / "*.log"))],
                                      batch={"max_events": 20, "buffer_events": 50},
                                      spool={"max_bytes": 4096, "resend_interval_s": 0.3})).start()
    try:
        w.write(logs / "app.log", 2000)
        assert gw.wait_for(lambda _: sh.metric("spool_full") == 1, 10)
        time.sleep(0.3)
        status = sh.source("file-0").status()
        size = (logs / "app.log").stat().st_size
        assert status["lag_bytes"] > size // 3, "the tail must stop advancing while the spool is full"
        assert sum((data / "spool" / n).stat().st_size for n in spool_files(data)) <= 4096
        gw.up()
        assert_ok(wait_all(gw, w.written, timeout=20))
        assert sh.metric("events_dropped_total") == 0
    finally:
        sh.stop()


def test_full_spool_drops_oldest_udp_batches_and_counts_them(tmp_path: Path, gw: RecordingGateway) -> None:
    import socket

    gw.down()
    data = tmp_path / "data"
    sh = InProcessShipper(fast_config(data, gw, [{"type": "udp", "name": "udp", "listen": "127.0.0.1:0"}],
                                      batch={"max_events": 20}, spool={"max_bytes": 4096})).start()
    try:
        host, port = sh.source("udp").bound
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(1500):
                s.sendto(f"udp line {i} {'z' * 40}".encode(), (host, port))
                if i % 100 == 0:
                    time.sleep(0.05)
        assert gw.wait_for(lambda _: sh.metric("events_dropped_total") > 0, 10)
        assert sh.metric("spool_full") == 0  # lossy data never blocks
        gw.up()
        assert gw.wait_for(lambda _: spool_files(data) == [], 10)
        assert gw.count + sh.metric("events_dropped_total") >= 1400  # every event is sent or counted
    finally:
        sh.stop()


def test_sigterm_flushes_the_open_batch_and_saves_checkpoints(tmp_path: Path, logs: Path,
                                                              gw: RecordingGateway) -> None:
    data = tmp_path / "data"
    w = LineWriter()
    w.write(logs / "app.log", 30)
    cfg = fast_config(data, gw, [file_source(str(logs / "*.log"))], batch={"max_wait_s": 30})
    proc = ShipperProcess(cfg, tmp_path).start()
    try:
        time.sleep(0.5)  # started and read, but the batch would wait 30 s
        assert gw.count == 0
        assert proc.terminate() == 0
        assert gw.count == 30  # flushed on SIGTERM
        cp = json.loads((data / "checkpoints.json").read_text())
        (rec,) = cp["sources"]["file-0"].values()
        assert rec["offset"] == (logs / "app.log").stat().st_size
        # gateway down at SIGTERM: the open batch goes to the spool and is sent on the next start
        gw.down()
        w.write(logs / "app.log", 10)
        proc.start()
        time.sleep(0.5)
        assert proc.terminate() == 0
        assert len(spool_files(data)) == 1
        gw.up()
        proc.start()
        assert_ok(wait_all(gw, w.written, timeout=10))
        assert proc.terminate() == 0
        assert check_exactly_once(gw, w.written)["resent_same_id"] == 0
    finally:
        if proc.proc and proc.proc.poll() is None:
            proc.kill()


def test_status_command_and_metrics_endpoint(tmp_path: Path, logs: Path, gw: RecordingGateway) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "data"
    w = LineWriter()
    w.write(logs / "app.log", 25)
    cfg = fast_config(data, gw, [file_source(str(logs / "*.log"))], metrics={"listen": f"127.0.0.1:{port}"},
                      log_level="INFO")
    proc = ShipperProcess(cfg, tmp_path).start()
    try:
        assert gw.wait_count(25, 10)
        time.sleep(0.5)
        out = subprocess.run([sys.executable, "-m", "ops.cli", "shipper", "--config", str(proc.config_path),
                              "--status"], capture_output=True, text=True, cwd=REPO,
                             env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=30)
        assert out.returncode == 0, out.stderr
        assert "shipper running" in out.stdout and str(logs / "app.log") in out.stdout
        assert "lag 0 B" in out.stdout and "spool: 0 batches" in out.stdout
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
        assert "logharbor_shipper_events_sent_total 25" in text
        # the shipper's own log is JSON lines
        proc.terminate()
        first = proc.log_path.read_text().splitlines()[0]
        assert json.loads(first)["logger"].startswith("logharbor.shipper")
        out = subprocess.run([sys.executable, "-m", "shipper", "--config", str(proc.config_path), "--status"],
                             capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                             timeout=30)
        assert out.returncode == 3 and "NOT running" in out.stdout
    finally:
        if proc.proc and proc.proc.poll() is None:
            proc.kill()


def test_bad_config_exits_2_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("gateway: {url: http://x}\ndata_dir: /tmp/x\nsources: [{type: file, pathz: [a]}]\n")
    for cmd in (["-m", "ops.cli", "shipper"], ["-m", "shipper"]):
        out = subprocess.run([sys.executable, *cmd, "--config", str(bad)], capture_output=True, text=True,
                             cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=30)
        assert out.returncode == 2
        assert "gateway.api_key" in out.stderr and "sources.0.pathz" in out.stderr


def test_https_gateway_with_a_private_ca(tmp_path: Path, logs: Path) -> None:
    """TLS through the standard ssl module: trusted with ca_file, refused (and spooled) without."""
    import shutil
    import ssl

    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make a test certificate: apt-get install openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True, timeout=60)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    tls_gw = RecordingGateway(ssl_context=ctx).start()
    try:
        w = LineWriter()
        w.write(logs / "app.log", 20)
        trusted = fast_config(tmp_path / "data1", tls_gw, [file_source(str(logs / "*.log"))])
        trusted["gateway"]["ca_file"] = str(cert)
        sh = InProcessShipper(trusted).start()
        try:
            assert_ok(wait_all(tls_gw, w.written))
        finally:
            sh.stop()
        untrusted = fast_config(tmp_path / "data2", tls_gw, [file_source(str(logs / "*.log"))])
        sh = InProcessShipper(untrusted).start()
        try:
            assert tls_gw.wait_for(lambda _: sh.metric("events_spooled_total") == 20, 10)
            assert "CERTIFICATE_VERIFY_FAILED" in (sh.shipper.sender.last_error or "")  # type: ignore[union-attr]
        finally:
            sh.stop()
    finally:
        tls_gw.stop()


def test_429_during_spool_resend_waits_without_declaring_the_gateway_down(tmp_path: Path, logs: Path,
                                                                          gw: RecordingGateway) -> None:
    data = tmp_path / "data"
    gw.down()
    w = LineWriter()
    sh = InProcessShipper(fast_config(data, gw, [file_source(str(logs / "*.log"))],
                                      spool={"resend_interval_s": 0.2})).start()
    try:
        w.write(logs / "app.log", 30)
        assert gw.wait_for(lambda _: len(spool_files(data)) >= 1, 10)
        gw.answer(429, retry_after=0.7, remaining=1)
        gw.up()
        assert_ok(wait_all(gw, w.written, timeout=10))
        statuses = [(r.status, r.at) for r in gw.requests]
        first_429 = next(at for st, at in statuses if st == 429)
        next_try = next(at for st, at in statuses if at > first_429)
        assert next_try - first_429 >= 0.65, "resend came before Retry-After elapsed"
        assert gw.wait_for(lambda _: spool_files(data) == [], 5)
    finally:
        sh.stop()
