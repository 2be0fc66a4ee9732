// OpenTelemetry export, end to end: the module in IoT Edge mode against the emulator, with
// OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP receiver on loopback (this test's own server).
import { copyFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { EdgeHubEmulator } from '../../test-support/edgehub/emulator.mjs';
import { guestBytes, guestPath, tempDir, waitFor } from '../helpers.js';
import { startModule, type ModuleProcess } from '../module-process.js';

interface OtlpSpan { traceId: string; name: string; attributes: Array<{ key: string; value: { stringValue?: string } }> }
interface OtlpLog { body: { stringValue?: string }; severityText: string }

const tmp = tempDir();
let hub: EdgeHubEmulator;
let module: ModuleProcess;
let receiver: Server;
const spans: OtlpSpan[] = [];
const logs: OtlpLog[] = [];
const attr = (span: OtlpSpan, key: string) => span.attributes.find((a) => a.key === key)?.value.stringValue;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const doc = JSON.parse(body) as { resourceSpans?: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>; resourceLogs?: Array<{ scopeLogs: Array<{ logRecords: OtlpLog[] }> }> };
      if (req.url === '/v1/traces') for (const r of doc.resourceSpans ?? []) for (const s of r.scopeSpans) spans.push(...s.spans);
      if (req.url === '/v1/logs') for (const r of doc.resourceLogs ?? []) for (const s of r.scopeLogs) logs.push(...s.logRecords);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  mkdirSync(join(tmp.path, 'wasm'), { recursive: true });
  copyFileSync(guestPath('echo'), join(tmp.path, 'wasm', 'echo.wasm'));
  hub = await EdgeHubEmulator.start();
  await hub.setDesired({ schemaVersion: '1.0', workloads: { alpha: { source: 'file://wasm/echo.wasm', sha256: guestBytes('echo').digest, timerMs: 200, inputs: ['sensors'] } } });
  module = startModule({ ...hub.env(), WASMHOST_DATA_DIR: tmp.path, WASMHOST_METRICS_PORT: '0', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}` });
}, 60_000);

afterAll(async () => {
  await module.stop();
  await hub.close();
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
  tmp.cleanup();
});

it('exports a span per guest call and per delivered message, and host logs as OTLP logs', async () => {
  await waitFor('call spans', () => spans.some((s) => s.name === 'on-timer' && attr(s, 'wasmhost.workload') === 'alpha'), 30_000);
  await waitFor('delivery spans', () => spans.some((s) => s.name === 'deliver' && attr(s, 'wasmhost.output') === 'ticks'), 15_000);
  expect(spans.find((s) => s.name === 'on-timer')).toMatchObject({ attributes: expect.arrayContaining([{ key: 'wasmhost.outcome', value: { stringValue: 'ok' } }]) });
  await waitFor('log records', () => logs.some((l) => /\[workload=alpha\] running/.test(l.body.stringValue ?? '')), 15_000);
});

it('carries an incoming message\'s traceparent onto the telemetry the workload sends while handling it, and its delivery span joins that trace', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  await hub.sendInput('sensors', '{"t":1}', { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
  const echoed = await waitFor('the echoed message', () => hub.outputs.find((o) => o.output === 'echoed'), 15_000);
  expect(echoed.properties.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  await waitFor('its delivery span in that trace', () => spans.some((s) => s.name === 'deliver' && s.traceId === traceId), 15_000);
});
