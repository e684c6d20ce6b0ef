"""Issue 16 item 11: the gateway's /metrics answers loopback peers only, and the pipeline's
operations endpoint listens on loopback by default. A real gateway process listening on all
interfaces is asked through this host's non-loopback address, the way another machine would.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import psutil
import pytest

from gateway.testing import GatewayProcess, free_port
from pipeline.server import start_server
from pipeline.settings import PipelineSettings

pytestmark = pytest.mark.integration


def _external_address() -> str:
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                return a.address
    raise AssertionError("this test needs a non-loopback IPv4 address on some interface (none found)")


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_gateway_metrics_refuse_non_loopback_peers(os_url, kafka_bootstrap):
    ext = _external_address()
    gw = GatewayProcess(env={"LOGHARBOR_GATEWAY_HOST": "0.0.0.0", "LOGHARBOR_OPENSEARCH_URL": os_url,
                             "LOGHARBOR_KAFKA_BOOTSTRAP": kafka_bootstrap})
    gw.start()
    try:
        status, body = _get(f"http://{ext}:{gw.port}/metrics")
        assert status == 403, body
        assert "gateway.metrics_allow" in body
        # X-Forwarded-For cannot open it
        req = urllib.request.Request(f"http://{ext}:{gw.port}/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        try:
            urllib.request.urlopen(req, timeout=5)
            raise AssertionError("X-Forwarded-For opened /metrics")
        except urllib.error.HTTPError as exc:
            assert exc.code == 403
        # health stays public (load balancers), metrics stay readable from the host itself
        assert _get(f"http://{ext}:{gw.port}/health")[0] == 200
        status, body = _get(f"http://127.0.0.1:{gw.port}/metrics")
        assert status == 200 and "logharbor_gateway" in body
    finally:
        gw.stop()


async def test_pipeline_operations_endpoint_listens_on_loopback_by_default():
    ext = _external_address()
    settings = PipelineSettings()
    assert settings.http_host == "127.0.0.1"
    port = free_port()
    runner = await start_server(settings.http_host, port, lambda: (True, {}))
    try:
        with socket.socket() as s:
            s.settimeout(3)
            assert s.connect_ex((ext, port)) != 0, "pipeline /metrics reachable from other hosts"
        with socket.socket() as s:
            s.settimeout(3)
            assert s.connect_ex(("127.0.0.1", port)) == 0
    finally:
        await runner.cleanup()
