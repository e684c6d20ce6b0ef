"""Sends log records with the OpenTelemetry Python SDK's OTLP/gRPC log exporter (the Collector's and
most SDKs' default protocol), plaintext or TLS.

Run as a subprocess by tests/integration/protocols/test_protocol_otlp_grpc.py: ``python
otel_grpc_client.py <endpoint host:port> <key> <prefix> <n> [<ca.pem>]`` — with a CA file the
channel is TLS and the server certificate is verified against it.
"""

import logging
import sys

import grpc
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource

endpoint, key, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ca = sys.argv[5] if len(sys.argv) > 5 else None
if ca:
    with open(ca, "rb") as f:
        exporter = OTLPLogExporter(endpoint=endpoint, insecure=False, timeout=30,
                                   credentials=grpc.ssl_channel_credentials(root_certificates=f.read()),
                                   headers={"authorization": f"Bearer {key}"}, compression=grpc.Compression.Gzip)
else:
    exporter = OTLPLogExporter(endpoint=endpoint, insecure=True, timeout=30,
                               headers={"authorization": f"Bearer {key}"}, compression=grpc.Compression.Gzip)
provider = LoggerProvider(resource=Resource.create({"service.name": "checkout", "service.version": "1.2.3",
                                                    "deployment.environment": "test", "team": "payments"}))
provider.add_log_record_processor(BatchLogRecordProcessor(exporter, max_export_batch_size=50))
otel = provider.get_logger("checkout.orders", "2.0.1")
base_ns = 1768816800_123456789  # 2026-01-19T10:00:00.123456789Z
for i in range(n):
    otel.emit(timestamp=base_ns + i * 1_000_000_000, observed_timestamp=base_ns + i * 1_000_000_000 + 5,
              severity_number=SeverityNumber.INFO if i % 3 else SeverityNumber.ERROR,
              body=f"{prefix} order {i} placed",
              attributes={"order.id": f"o-{i}", "http.response.status_code": 201,
                          "exception.message": "none" if i % 3 else "card declined"})
handler = LoggingHandler(logger_provider=provider)
std = logging.getLogger(f"{prefix}.std")
std.addHandler(handler)
std.setLevel(logging.INFO)
std.warning("%s bridged warning", prefix)
ok = provider.force_flush(30_000)
provider.shutdown()
print("flushed" if ok else "not flushed")
