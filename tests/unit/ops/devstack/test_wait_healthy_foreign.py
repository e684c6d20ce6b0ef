"""wait_healthy must fail fast, naming the other cluster, when its port answers for a cluster
that is not ours (two stacks picked one port: ours bound another and the wait polled a foreign
cluster until the start-up timeout)."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from logharbor.config import ConfigError
from ops.devstack.opensearch_node import wait_healthy
from ops.devstack.process import ProcessRecord
from ops.devstack.settings import DevstackSettings


def _cluster(name: str) -> ThreadingHTTPServer:
    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"cluster_name": name, "status": "green", "number_of_nodes": 1}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _record(port: int, tmp_path: Path) -> ProcessRecord:
    me = psutil.Process(os.getpid())  # a live process, so the record is not "dead"
    return ProcessRecord("opensearch", me.pid, me.create_time(), [port], str(tmp_path / "os.log"),
                         {"url": f"http://127.0.0.1:{port}"})


def test_a_foreign_cluster_on_the_port_fails_fast_naming_it(tmp_path: Path) -> None:
    server = _cluster("someone-elses")
    try:
        settings = DevstackSettings(data_dir=tmp_path, cluster_name="logharbor-chaos-x", startup_timeout_s=60)
        started = time.monotonic()
        with pytest.raises(ConfigError, match=r"someone-elses.*logharbor-chaos-x"):
            wait_healthy(settings, _record(server.server_address[1], tmp_path), log=lambda _m: None)
        assert time.monotonic() - started < 30  # not the 60 s start-up timeout
    finally:
        server.shutdown()


def test_our_own_cluster_on_the_port_is_healthy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = _cluster("logharbor-chaos-x")
    monkeypatch.setattr("ops.devstack.opensearch_node.register_repository", lambda *a, **k: None)
    try:
        settings = DevstackSettings(data_dir=tmp_path, cluster_name="logharbor-chaos-x", startup_timeout_s=20)
        health = wait_healthy(settings, _record(server.server_address[1], tmp_path), log=lambda _m: None)
        assert health["cluster_name"] == "logharbor-chaos-x"
    finally:
        server.shutdown()
