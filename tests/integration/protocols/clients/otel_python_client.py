"""Sends log records with the OpenTelemetry Python SDK's OTLP/HTTP log exporter (protobuf or JSON).

Run as a subprocess by tests/integration/test_protocol_otlp.py: ``python otel_python_client.py
<protobuf|json> <endpoint> <key> <prefix> <n>``. The JSON exporter lives in its own --target dir
(it pins another exporter-common than the protobuf one), hence a process per exporter.
``grpc`` uses the SDK's OTLP/gRPC exporter (``<endpoint>`` is host:port; a sixth argument, a CA
file, makes the channel TLS with the server certificate verified against it) — run by
tests/integration/protocols/test_protocol_otlp_grpc.py.
"""

import logging
import sys

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource

kind, endpoint, key, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
if kind == "grpc":
    import grpc
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcExporter

    ca = sys.argv[6] if len(sys.argv) > 6 else None
    creds = None
    if ca:
        with open(ca, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    exporter = GrpcExporter(endpoint=endpoint, insecure=ca is None, credentials=creds, timeout=30,
                            headers={"authorization": f"Bearer {key}"}, compression=grpc.Compression.Gzip)
else:
    if kind == "protobuf":
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    else:
        from opentelemetry.exporter.otlp.json.http._log_exporter import Compression, OTLPLogExporter
    exporter = OTLPLogExporter(endpoint=endpoint, headers={"Authorization": f"Bearer {key}"},
                               compression=getattr(Compression, "Gzip", None) or Compression.GZIP, timeout=30)
provider = LoggerProvider(resource=Resource.create({"service.name": "checkout", "service.version": "1.2.3",
                                                    "deployment.environment": "test", "team": "payments"}))
provider.add_log_record_processor(BatchLogRecordProcessor(exporter, max_export_batch_size=50))
otel = provider.get_logger("checkout.orders", "2.0.1")
base_ns = 1768816800_123456789  # 2026-01-19T10:00:00.123456789Z
for i in range(n):
    otel.emit(timestamp=base_ns + i * 1_000_000_000, observed_timestamp=base_ns + i * 1_000_000_000 + 5,
              severity_number=SeverityNumber.INFO if i % 3 else SeverityNumber.ERROR,
              severity_text="" if i % 2 else None,
              body=f"{prefix} order {i} placed",
              attributes={"order.id": f"o-{i}", "http.response.status_code": 201,
                          "exception.message": "none" if i % 3 else "card declined"})
# and through the standard logging bridge, as applications use it
handler = LoggingHandler(logger_provider=provider)
std = logging.getLogger(f"{prefix}.std")
std.addHandler(handler)
std.setLevel(logging.INFO)
std.warning("%s bridged warning", prefix)
ok = provider.force_flush(30_000)
provider.shutdown()
print("flushed" if ok else "not flushed")
