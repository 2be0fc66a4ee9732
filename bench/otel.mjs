// OpenTelemetry's cost on the telemetry path (issue: ships where IoT Edge runs): the same guest and
// offered load (burst.wat, ~16k msg/s) with export off, and on (to an OTLP receiver on loopback that
// discards), in the same run: delivered rate and module CPU per message.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeHubEmulator } from '../test-support/edgehub/emulator.mjs';
import { arrivalRate, guest } from './edge.mjs';
import { report } from './stats.mjs';

const ROOT = new URL('..', import.meta.url).pathname;

export async function otelBench() {
  const tmp = mkdtempSync(join(tmpdir(), 'wh-otel-bench-'));
  const dataDir = join(tmp, 'data');
  mkdirSync(join(dataDir, 'wasm'), { recursive: true });
  const hub = await EdgeHubEmulator.start();
  const receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')));
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const burst = guest(dataDir, 'burst');
  const run = async (otel) => {
    await hub.setDesired({ schemaVersion: '1.0', workloads: { burst: { ...burst, timerMs: 30, limits: { messagesPerSecond: 100_000 } } } });
    rmSync(join(dataDir, 'outbox'), { recursive: true, force: true });
    hub.outputs.length = 0;
    const env = { PATH: process.env.PATH, ...hub.env(), WASMHOST_DATA_DIR: dataDir, RuntimeLogLevel: 'error', WASMHOST_METRICS_PORT: '0' };
    if (otel) env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${receiver.address().port}`;
    const module = spawn(process.execPath, [join(ROOT, 'dist/cli/wasmhost.cjs'), 'start'], { env, stdio: 'inherit' });
    const result = await arrivalRate(hub, 'burst', module.pid);
    module.kill('SIGTERM');
    await new Promise((r) => module.once('exit', r));
    return result;
  };
  try {
    const rows = [];
    const off = [];
    const on = [];
    for (let i = 0; i < 3; i++) { // interleaved, so drift on a noisy machine hits both alike
      off.push(await run(false));
      on.push(await run(true));
    }
    const med = (xs, key) => [...xs.map((x) => x[key])].sort((a, b) => a - b)[1];
    rows.push(['telemetry msg/s delivered, ~16k/s offered, OpenTelemetry export on (median of 3)', `${Math.round(med(on, 'rate'))}`, `export off: ${Math.round(med(off, 'rate'))}`, (med(on, 'rate') / med(off, 'rate')).toFixed(2)]);
    rows.push(['module CPU per delivered message, export on (median of 3)', `${med(on, 'cpuUsPerMessage').toFixed(1)} us`, `export off: ${med(off, 'cpuUsPerMessage').toFixed(1)} us`, `${(med(on, 'cpuUsPerMessage') / med(off, 'cpuUsPerMessage')).toFixed(2)}x`]);
    return report('OpenTelemetry cost on the telemetry path', rows);
  } finally {
    receiver.close();
    await hub.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
