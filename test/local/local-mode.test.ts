// The `npm start` path end to end: the real CLI in its own process, local mode, the two samples.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, freePort, guestPath, sampleValue, scrape, tempDir, waitFor } from '../helpers.js';

const tmp = tempDir();
const desiredFile = join(tmp.path, 'workloads.local.json');
let host: ChildProcess;
let stdout = '';
let adminPort = 0;
let metricsPort = 0;

const desired = (workloads: Record<string, unknown>) => JSON.stringify({ schemaVersion: '1.0', workloads }, null, 2);
const samples = {
  sensor: { source: 'file://sensor.wasm', timerMs: 200, config: { machine: 'press-1', minTemp: '21', maxTemp: '40' }, limits: { memoryMb: 128 } },
  filter: { source: 'file://filter.wasm', subscribe: ['plant/+/temperature'], config: { threshold: '30' }, limits: { memoryMb: 128 } },
};
const lines = () => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { workload: string; output: string; body: any });
const method = async (name: string, payload?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${adminPort}/methods/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload === undefined ? '' : JSON.stringify(payload) });
  return { status: res.status, body: (await res.json()) as any };
};

beforeAll(async () => {
  copyFileSync(guestPath('temperature-sensor'), join(tmp.path, 'sensor.wasm'));
  copyFileSync(guestPath('threshold-filter'), join(tmp.path, 'filter.wasm'));
  copyFileSync(guestPath('trap'), join(tmp.path, 'trap.wasm'));
  writeFileSync(desiredFile, desired(samples));
  metricsPort = await freePort();
  host = spawn(process.execPath, [CLI, 'start'], {
    env: { PATH: process.env.PATH, WASMHOST_DATA_DIR: join(tmp.path, 'data'), WASMHOST_DESIRED_FILE: desiredFile, WASMHOST_ALLOW_UNPINNED: 'true', WASMHOST_ADMIN_PORT: '0', WASMHOST_METRICS_PORT: String(metricsPort) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  host.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  adminPort = Number(await waitFor('admin endpoint', () => /http:\/\/127\.0\.0\.1:(\d+)\/methods/.exec(stdout)?.[1], 30_000));
}, 60_000);

afterAll(async () => {
  if (host.exitCode === null) {
    host.kill('SIGTERM');
    await new Promise((r) => host.once('exit', r));
  }
  tmp.cleanup();
});

describe('local mode (wasmhost start)', () => {
  it('shows sensor readings and filter alerts within 30 s', async () => {
    await waitFor('a sensor reading and a filter alert', () => lines().some((l) => l.output === 'alerts'), 30_000);
    const reading = lines().find((l) => l.workload === 'sensor' && l.output === 'temperature')!;
    expect(reading.body).toMatchObject({ machine: { name: 'press-1', temperature: expect.any(Number), pressure: expect.any(Number) }, ambient: { humidity: expect.any(Number) } });
    const alert = lines().find((l) => l.output === 'alerts')!;
    expect(alert.workload).toBe('filter');
    expect(alert.body.machine.temperature).toBeGreaterThan(30);
    expect(alert.body.source).toBe('topic/plant/press-1/temperature');
  }, 40_000);

  it('writes telemetry to <data>/outputs/<output>.jsonl', async () => {
    const file = join(tmp.path, 'data', 'outputs', 'temperature.jsonl');
    const stored = await waitFor('outputs file', () => {
      try {
        return readFileSync(file, 'utf8').trim().split('\n');
      } catch {
        return undefined;
      }
    });
    expect(JSON.parse(stored[0]!)).toMatchObject({ workload: 'sensor', output: 'temperature', contentType: 'application/json' });
  });

  it('serves methods on the admin endpoint: ping, listWorkloads, restartWorkload with 400/404', async () => {
    expect(await method('ping')).toMatchObject({ status: 200, body: { version: '0.1.0' } });
    const list = await method('listWorkloads');
    expect(list.status).toBe(200);
    expect(list.body.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([['filter', 'running'], ['sensor', 'running']]);
    expect(await method('restartWorkload', { nope: 1 })).toMatchObject({ status: 400, body: { message: expect.stringContaining('name') } });
    expect(await method('restartWorkload', { name: 'ghost' })).toMatchObject({ status: 404 });
    expect(await method('noSuchMethod')).toMatchObject({ status: 404 });
    const restarted = await method('restartWorkload', { name: 'sensor' });
    expect(restarted.status).toBe(200);
    await waitFor('sensor running again', async () => (await method('listWorkloads')).body.find((s: { name: string }) => s.name === 'sensor').status === 'running');
  });

  it('invokeWorkload reaches the guest on-method; the filter counted what it forwarded in kv', async () => {
    const stats = await method('invokeWorkload', { name: 'filter', method: 'stats', payload: '' });
    expect(stats.status).toBe(200);
    expect(stats.body.forwarded).toBeGreaterThan(0);
    expect(await method('invokeWorkload', { name: 'filter', method: 'bogus' })).toMatchObject({ status: 500, body: { code: 'WH_ERR_GUEST', message: 'unknown method bogus' } });
    // kv is durable: the count survives a restart of the workload
    await method('restartWorkload', { name: 'filter' });
    const after = await waitFor('filter answering after restart', async () => {
      const r = await method('invokeWorkload', { name: 'filter', method: 'stats', payload: '' });
      return r.status === 200 && r.body;
    });
    expect(after.forwarded).toBeGreaterThanOrEqual(stats.body.forwarded);
  });

  it('applies edits to the desired file live, and a trapping workload beside them harms nobody', async () => {
    writeFileSync(desiredFile, desired({ ...samples, crashy: { source: 'file://trap.wasm', timerMs: 50 } }));
    const crashy = async () => (await method('listWorkloads')).body.find((s: { name: string }) => s.name === 'crashy');
    await waitFor('crashy restarting', async () => (await crashy())?.restarts >= 1, 20_000);
    const sensorCount = lines().filter((l) => l.workload === 'sensor').length;
    await waitFor('sensor still sending', () => lines().filter((l) => l.workload === 'sensor').length > sensorCount + 2);

    // Metrics tell the same story: crashy's failures and restarts by reason, the sensor's calls and messages.
    const metrics = await scrape(metricsPort);
    expect(sampleValue(metrics, 'wasmhost_workload_failures_total', { workload: 'crashy', reason: 'trap' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(metrics, 'wasmhost_workload_restarts_total', { workload: 'crashy', reason: 'trap' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(metrics, 'wasmhost_workload_call_errors_total', { workload: 'crashy', export: 'on-timer' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(metrics, 'wasmhost_workload_failures_total', { workload: 'sensor' })).toBeUndefined();
    expect(sampleValue(metrics, 'wasmhost_messages_sent_total', { workload: 'sensor' })).toBeGreaterThanOrEqual(sensorCount);
    expect(sampleValue(metrics, 'wasmhost_workload_call_duration_seconds_count', { workload: 'sensor', export: 'on-timer' })).toBeGreaterThan(0);
    expect(sampleValue(metrics, 'wasmhost_workload_state', { workload: 'sensor', state: 'running' })).toBe(1);
    expect(sampleValue(metrics, 'wasmhost_workload_memory_bytes', { workload: 'sensor' })).toBeGreaterThan(1 << 20);
    expect(sampleValue(metrics, 'wasmhost_workloads')).toBe(3);
    expect(metrics.every((s) => s.labels.iothub === 'local' && s.labels.instance_number && s.labels.edge_device)).toBe(true);

    writeFileSync(desiredFile, desired(samples));
    await waitFor('crashy removed', async () => (await crashy()) === undefined);
    const after = await scrape(metricsPort);
    expect(after.filter((s) => s.labels.workload === 'crashy')).toEqual([]);
  }, 40_000);

  it('answers liveness on /health beside /metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', uptimeSeconds: expect.any(Number), workloads: { running: 2 } });
    expect((await fetch(`http://127.0.0.1:${metricsPort}/nope`)).status).toBe(404);
  });

  it('getWorkloadLogs returns the guest log lines in edgeAgent format', async () => {
    const logs = await method('getWorkloadLogs', { schemaVersion: '1.0', items: [{ id: 'fil.*', filter: { tail: 5 } }] });
    expect(logs.status).toBe(200);
    expect(logs.body[0].id).toBe('filter');
    expect(logs.body[0].payload).toMatch(/^<6> \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+00:00 \[INF\] - filter ready/m);
  });

  it('stops cleanly on SIGTERM with exit code 0', async () => {
    host.kill('SIGTERM');
    const code = await new Promise((r) => host.once('exit', r));
    expect(code).toBe(0);
  });
});
