// Sends log records with the OpenTelemetry JS SDK's OTLP/HTTP (JSON) log exporter from npm.
// Run by tests/integration/test_protocol_otlp.py: node otel_node_client.mjs <url> <key> <prefix> <n>
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';

const [url, key, prefix, n] = process.argv.slice(2);
const exporter = new OTLPLogExporter({ url, headers: { Authorization: `Bearer ${key}` } });
const provider = new LoggerProvider({
  resource: resourceFromAttributes({ 'service.name': 'node-api', 'host.name': 'node-host-1' }),
  processors: [new BatchLogRecordProcessor({ exporter })],
});
const logger = provider.getLogger('node.scope', '0.1.0');
const base = Date.UTC(2026, 0, 19, 11, 0, 0);
for (let i = 0; i < Number(n); i++) {
  logger.emit({
    timestamp: [Math.floor((base + i * 1000) / 1000), 500],
    severityNumber: i % 2 ? 13 : 9,
    severityText: i % 2 ? 'WARN' : 'INFO',
    body: { message: `${prefix} node event ${i}`, user: { id: `u${i}` } },
    attributes: { 'url.path': `/api/${i}` },
  });
}
await provider.forceFlush();
await provider.shutdown();
console.log('flushed');
