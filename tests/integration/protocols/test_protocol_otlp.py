"""OTLP/HTTP logs with real exporters — the OpenTelemetry Python SDK over http/protobuf and
http/json, and the OpenTelemetry JS SDK from npm — through the real gateway, Kafka and pipeline:
every record stored exactly once with its nanosecond timestamp, level from severity, message,
attributes and resource mapped; partial success for bad records; 400 google.rpc.Status for an
undecodable body; another tenant's key stays in its tenant and a revoked key is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from protocol_support import CACHE, INSTALL_HINT, Stack, field, wait_until

pytestmark = [pytest.mark.integration]
CLIENTS = Path(__file__).resolve().parent / "clients"


def _python_client(kind: str, stack: Stack, token: str, prefix: str, n: int) -> None:
    env = dict(os.environ)
    if kind == "json":
        target = CACHE / "otel-json"
        if not (target / "opentelemetry" / "exporter" / "otlp" / "json").is_dir():
            pytest.fail(f"opentelemetry-exporter-otlp-json-http is missing in {target}: {INSTALL_HINT}")
        env["PYTHONPATH"] = str(target)
    out = subprocess.run([sys.executable, str(CLIENTS / "otel_python_client.py"), kind, stack.gw.url + "/v1/logs",
                          token, prefix, str(n)], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0 and "flushed" in out.stdout, out.stdout + out.stderr


@pytest.mark.parametrize("kind", ["protobuf", "json"])
def test_python_sdk_exporter(stack: Stack, kind: str) -> None:
    tenant = "totel" + uuid.uuid4().hex[:8]
    token = stack.key(tenant, "checkout")
    _python_client(kind, stack, token, kind, 12)
    stored = stack.wait_stored(tenant, 13)
    by_msg = stack.by_message(stored)
    d = by_msg[f"{kind} order 4 placed"]
    assert d["@timestamp"].startswith("2026-01-19T10:00:04.123")
    assert field(d, "otel.time_unix_nano") == 1768816804_123456789
    assert d["log"]["level"] == "INFO" and by_msg[f"{kind} order 3 placed"]["log"]["level"] == "ERROR"
    assert field(d, "order.id") == "o-4" and field(d, "http.response.status_code") == 201
    assert field(by_msg[f"{kind} order 3 placed"], "error.message") == "card declined"
    assert d["service"]["name"] == "checkout" and field(d, "service.version") == "1.2.3"
    assert field(d, "service.environment") == "test" and field(d, "resource.attributes.team") == "payments"
    assert field(d, "log.logger") == "checkout.orders" and field(d, "otel.scope.version") == "2.0.1"
    assert by_msg[f"{kind} bridged warning"]["log"]["level"] == "WARN"


def test_node_sdk_exporter(stack: Stack) -> None:
    node_dir = CLIENTS / "node"
    exporter = node_dir / "node_modules" / "@opentelemetry" / "exporter-logs-otlp-http"
    if not shutil.which("node") or not exporter.is_dir():
        pytest.fail(f"node or the npm OpenTelemetry exporter is missing ({node_dir}/node_modules): {INSTALL_HINT}")
    tenant = "tnode" + uuid.uuid4().hex[:8]
    token = stack.key(tenant, "node-api")
    out = subprocess.run(["node", "otel_node_client.mjs", stack.gw.url + "/v1/logs", token, "js", "8"],
                         cwd=node_dir, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "flushed" in out.stdout, out.stdout + out.stderr
    stored = stack.wait_stored(tenant, 8)
    d = stack.by_message(stored)["js node event 3"]
    assert d["@timestamp"] == "2026-01-19T11:00:03.000Z" and d["log"]["level"] == "WARN"
    assert field(d, "user.id") == "u3" and field(d, "url.path") == "/api/3" and d["host"]["name"] == "node-host-1"


def test_partial_success_status_bodies_and_keys(stack: Stack) -> None:
    from google.rpc.status_pb2 import Status
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
        ExportLogsServiceResponse,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    tenant = "traw" + uuid.uuid4().hex[:8]
    token = stack.key(tenant, "raw")
    req = ExportLogsServiceRequest()
    scope_logs = req.resource_logs.add().scope_logs.add()
    good = LogRecord(time_unix_nano=1768816800_000000001, severity_number=13,
                     body=AnyValue(string_value="raw good"),
                     trace_id=bytes.fromhex("5b8efff798038103d269b633813fc60c"),
                     span_id=bytes.fromhex("eee19b7ec3c1b174"))
    scope_logs.log_records.append(good)
    far_future = LogRecord(time_unix_nano=4102444800_000000000, body=AnyValue(string_value="raw future"))
    scope_logs.log_records.append(far_future)
    scope_logs.log_records.append(LogRecord(time_unix_nano=1768816800_000000002))  # no body: no message
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-protobuf"}
    url = stack.gw.url + "/v1/logs"
    r = requests.post(url, data=req.SerializeToString(), headers=headers, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/x-protobuf")
    resp = ExportLogsServiceResponse.FromString(r.content)
    assert resp.partial_success.rejected_log_records == 2 and "timestamp" in resp.partial_success.error_message
    r = requests.post(url, data=req.SerializeToString(), headers=headers, timeout=30)  # the exporter's retry
    assert r.status_code == 200
    bad = requests.post(url, data=b"\x0a\xff\xff garbage", headers=headers, timeout=30)
    assert bad.status_code == 400 and Status.FromString(bad.content).code == 3
    bad_json = requests.post(url, data=b"{not json", headers={**headers, "Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["code"] == 3
    ok_json = requests.post(url, json={"resourceLogs": []}, headers={"Authorization": f"Bearer {token}"})
    assert ok_json.status_code == 200 and ok_json.json() == {}
    revoked = stack.key(tenant, "raw")
    stack.revoke(revoked)
    wait_until(lambda: requests.post(url, data=req.SerializeToString(), timeout=30, headers={
        **headers, "Authorization": f"Bearer {revoked}"}).status_code == 403, 15, "the revocation to apply")
    other = stack.key("tother" + uuid.uuid4().hex[:6], "raw")
    one = ExportLogsServiceRequest()
    one.resource_logs.add().scope_logs.add().log_records.append(
        LogRecord(time_unix_nano=1768816800_000000003, body=AnyValue(string_value="other tenant")))
    assert requests.post(url, data=one.SerializeToString(), timeout=30,
                         headers={**headers, "Authorization": f"Bearer {other}"}).status_code == 200
    stored = stack.wait_stored(tenant, 1)
    d = stored[0]
    assert d["message"] == "raw good" and d["log"]["level"] == "WARN"
    assert field(d, "trace.id") == "5b8efff798038103d269b633813fc60c" and field(d, "span.id") == "eee19b7ec3c1b174"
    assert d["@timestamp"] == "2026-01-19T10:00:00.000Z"
