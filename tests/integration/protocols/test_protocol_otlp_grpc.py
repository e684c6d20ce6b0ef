"""OTLP/gRPC logs with the real OpenTelemetry Python SDK gRPC exporter (plaintext and TLS) and a
raw grpcio channel, through the real gateway, Kafka and pipeline: every record stored exactly once
with its nanosecond timestamp, level, message, attributes and resource mapped (the same mapping as
OTLP/HTTP); partial success for bad records; UNAUTHENTICATED / INVALID_ARGUMENT /
RESOURCE_EXHAUSTED for what must not be retried; UNAVAILABLE with a RetryInfo for the rate limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest
from protocol_support import Stack, field

from gateway.testing import GatewayProcess, free_port

pytestmark = [pytest.mark.integration]
CLIENTS = Path(__file__).resolve().parent / "clients"
EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


def _client(endpoint: str, token: str, prefix: str, n: int, ca: Path | None = None) -> None:
    cmd = [sys.executable, str(CLIENTS / "otel_python_client.py"), "grpc", endpoint, token, prefix, str(n)]
    out = subprocess.run([*cmd, str(ca)] if ca else cmd, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ))
    assert out.returncode == 0 and "flushed" in out.stdout, out.stdout + out.stderr


def _check_stored(stack: Stack, tenant: str, prefix: str) -> None:
    stored = stack.wait_stored(tenant, 13)
    by_msg = stack.by_message(stored)  # asserts each message is stored once
    d = by_msg[f"{prefix} order 4 placed"]
    assert d["@timestamp"].startswith("2026-01-19T10:00:04.123")
    assert field(d, "otel.time_unix_nano") == 1768816804_123456789
    assert d["log"]["level"] == "INFO" and by_msg[f"{prefix} order 3 placed"]["log"]["level"] == "ERROR"
    assert field(d, "order.id") == "o-4" and field(d, "http.response.status_code") == 201
    assert field(by_msg[f"{prefix} order 3 placed"], "error.message") == "card declined"
    assert d["service"]["name"] == "checkout" and field(d, "service.version") == "1.2.3"
    assert field(d, "resource.attributes.team") == "payments" and field(d, "log.logger") == "checkout.orders"
    assert by_msg[f"{prefix} bridged warning"]["log"]["level"] == "WARN"


def test_python_sdk_grpc_exporter(stack: Stack) -> None:
    tenant = "tgrpc" + uuid.uuid4().hex[:8]
    _client(f"127.0.0.1:{stack.otlp_grpc_port}", stack.key(tenant, "checkout"), "grpc", 12)
    _check_stored(stack, tenant, "grpc")


def _request(*bodies_and_times: tuple[str | None, int]) -> bytes:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    req = ExportLogsServiceRequest()
    scope = req.resource_logs.add().scope_logs.add()
    for body, t in bodies_and_times:
        rec = LogRecord(time_unix_nano=t, severity_number=17)
        if body is not None:
            rec.body.CopyFrom(AnyValue(string_value=body))
        scope.log_records.append(rec)
    return req.SerializeToString()


def _call(port: int, body: bytes, token: str | None) -> tuple[grpc.StatusCode, bytes | None, dict]:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        export = channel.unary_unary(EXPORT)  # raw bytes: the test builds and reads the messages itself
        md = (("authorization", f"Bearer {token}"),) if token else ()
        try:
            raw, call = export.with_call(body, metadata=md, timeout=30)
            return call.code(), ExportLogsServiceResponse.FromString(raw), {}
        except grpc.RpcError as err:
            return err.code(), None, dict(err.trailing_metadata() or ())


def test_status_codes_partial_success_and_retry_info(stack: Stack) -> None:
    from google.rpc import error_details_pb2, status_pb2

    tenant = "tgrpcraw" + uuid.uuid4().hex[:6]
    token = stack.key(tenant, "raw")
    port = stack.otlp_grpc_port
    code, resp, _ = _call(port, _request(("grpc good", 1768816800_000000001), ("grpc future", 4102444800_000000000)),
                          token)
    assert code == grpc.StatusCode.OK
    assert resp.partial_success.rejected_log_records == 1 and "timestamp" in resp.partial_success.error_message
    assert _call(port, _request(), token)[0] == grpc.StatusCode.OK  # an empty request is fine
    assert _call(port, _request(("x", 1768816800_000000002)), None)[0] == grpc.StatusCode.UNAUTHENTICATED
    assert _call(port, _request(("x", 1768816800_000000002)), "lh_live_abcdefgh2345_" + "s" * 43)[0] in (
        grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
    assert _call(port, b"\x0a\xff\xff garbage", token)[0] == grpc.StatusCode.INVALID_ARGUMENT
    huge = _request(("y" * (11 * 1024 * 1024), 1768816800_000000003))  # > gateway.max_batch_bytes (10 MiB)
    assert _call(port, huge, token)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The key's rate limit: the whole request is refused, retryable, with the back-off in RetryInfo.
    slow = stack.key(tenant, "slow", rate=0.2, burst=2)
    five = _request(*[(f"r{i}", 1768816800_000000010 + i) for i in range(5)])
    assert _call(port, five, slow)[0] == grpc.StatusCode.OK  # a full bucket lets one request into debt
    code, _, trailers = _call(port, five, slow)
    assert code == grpc.StatusCode.UNAVAILABLE
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    info = error_details_pb2.RetryInfo()
    assert status.details and status.details[0].Unpack(info) and info.retry_delay.seconds >= 1
    stored = stack.wait_stored(tenant, 6)
    assert sorted(d["message"] for d in stored) == ["grpc good", "r0", "r1", "r2", "r3", "r4"]
    assert {d["log"]["level"] for d in stored} == {"ERROR"}


def test_tls_port_with_the_sdk_exporter(stack: Stack) -> None:
    """A gateway whose OTLP/gRPC port speaks TLS: the exporter verifies the certificate."""
    tenant = "tgrpctls" + uuid.uuid4().hex[:6]
    token = stack.key(tenant, "checkout")
    port = free_port()
    env = {k: v for k, v in stack.gw.env.items() if k.startswith("LOGHARBOR_") and "PROTOCOLS__" not in k}
    env.update({"LOGHARBOR_GATEWAY_PROTOCOLS__OTLP_GRPC_PORT": str(port),
                "LOGHARBOR_GATEWAY_PROTOCOLS__OTLP_GRPC_TLS_CERT": str(stack.tls_dir / "cert.pem"),
                "LOGHARBOR_GATEWAY_PROTOCOLS__OTLP_GRPC_TLS_KEY": str(stack.tls_dir / "key.pem")})
    with GatewayProcess(env=env) as gw:
        gw.wait_ready()
        _client(f"localhost:{port}", token, "tls", 12, ca=stack.tls_dir / "cert.pem")
        # plaintext against the TLS port does not get through
        assert _call(port, _request(("plain", 1768816800_000000001)), token)[0] == grpc.StatusCode.UNAVAILABLE
    _check_stored(stack, tenant, "tls")
