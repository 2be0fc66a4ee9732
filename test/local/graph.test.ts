// Azure IoT Operations data flow graphs, the way a user meets them: the module as its own process in
// local mode, readings published by a real MQTT client on the local broker, telemetry read from its
// stdout, metrics from /metrics, methods on the admin endpoint; one graph pulled from a real OCI registry.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { parse as parseYaml } from 'yaml';
import { CLI, freePort, guestBytes, guestPath, ROOT, sampleValue, scrape, tempDir, waitFor } from '../helpers.js';
import { startModule, type ModuleProcess } from '../module-process.js';
import { startRegistry } from '../../test-support/registry.mjs';

const run = promisify(execFile);
const tmp = tempDir();
const graphFile = (name: string) => join(ROOT, 'test-support', 'graphs', `${name}.yaml`);
const graph = (name: string) => parseYaml(readFileSync(graphFile(name), 'utf8')) as Record<string, unknown>;
const pin = (module: string, guest: string) => ({ module, source: `file://${guest}.wasm`, sha256: guestBytes(guest).digest });
const TEMPERATURE = pin('temperature:1.0.0', 'graph-temperature');

let registry: Awaited<ReturnType<typeof startRegistry>>;
let host: ModuleProcess;
let client: MqttClient;
let adminPort = 0;
let metricsPort = 0;
let workloads: Record<string, Record<string, unknown>>;
const writeDesired = () => writeFileSync(join(tmp.path, 'desired.json'), JSON.stringify({ schemaVersion: '1.0', workloads }));

interface Line { workload: string; output: string; properties: Record<string, string>; body: any }
/** Telemetry lines of one workload; a body without a JSON content type is printed as text: parsed here. */
const lines = (workload: string): Line[] => host.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line).filter((l) => l.workload === workload)
  .map((l) => ({ ...l, body: typeof l.body === 'string' ? JSON.parse(l.body) : l.body }));
const method = async (name: string, payload?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${adminPort}/methods/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload === undefined ? '' : JSON.stringify(payload) });
  return (await res.json()) as any;
};
const status = async (name: string) => ((await method('listWorkloads')) as Array<{ name: string; status: string; restarts: number; lastExitReason: string | null; lastError: string | null }>).find((w) => w.name === name)!;
const reading = (value: number, unit = 'F') => JSON.stringify({ temperature: { value, unit } });
const publish = (topic: string, payload: string) => client.publishAsync(topic, payload);
/** Windows are aligned to multiples of their length: wait for the start of one, so a few readings fall in the same. */
const windowStart = async (ms: number) => {
  while (Date.now() % ms > 150) await new Promise((r) => setTimeout(r, 10));
};

beforeAll(async () => {
  for (const guest of ['graph-temperature', 'graph-window', 'bad-map']) copyFileSync(guestPath(guest), join(tmp.path, `${guest}.wasm`));
  // The graph artifact and its modules, pushed as AIO pushes them.
  registry = await startRegistry({ auth: 'none' });
  const env = { env: { PATH: process.env.PATH } };
  await run(process.execPath, [CLI, 'push', graphFile('temperature-window'), `oci://${registry.host}/graphs/temperature-window:1.0.0`], env);
  await run(process.execPath, [CLI, 'push', guestPath('graph-temperature'), `oci://${registry.host}/temperature:1.0.0`], env);
  await run(process.execPath, [CLI, 'push', guestPath('graph-window'), `oci://${registry.host}/window:1.0.0`], env);
  const hostile = (mode: string, limits: Record<string, number>) => ({
    subscribe: [`hostile-${mode}/#`], config: { mode }, limits, restartPolicy: 'always',
    graph: { ...graph('hostile'), modules: [TEMPERATURE, pin('bad:1.0.0', 'bad-map')] },
  });
  workloads = {
    temps: {
      subscribe: ['plant/+/temperature'], output: 'celsius', config: { temperature_upper_bound: '60', window_ms: '1500' },
      graph: { ...graph('temperature-window'), modules: [TEMPERATURE, pin('window:1.0.0', 'graph-window')] },
    },
    route: { subscribe: ['route/#'], output: 'routed', graph: { ...graph('branch-route'), modules: [TEMPERATURE] } },
    pulled: {
      subscribe: ['pulled/#'], output: 'pulled', config: { window_ms: '1000' },
      graph: {
        artifact: `oci://${registry.host}/graphs/temperature-window:1.0.0`,
        sha256: guestBytesOf(graphFile('temperature-window')),
        modules: [{ module: 'temperature:1.0.0', sha256: TEMPERATURE.sha256 }, { module: 'window:1.0.0', sha256: guestBytes('graph-window').digest }],
      },
    },
    trapping: hostile('t', { callTimeoutMs: 2000 }),
    looping: hostile('l', { callTimeoutMs: 300 }),
    growing: hostile('g', { memoryMb: 32 }),
  };
  writeDesired();
  metricsPort = await freePort();
  const mqttPort = await freePort();
  host = startModule({
    WASMHOST_DATA_DIR: join(tmp.path, 'data'), WASMHOST_DESIRED_FILE: join(tmp.path, 'desired.json'), WASMHOST_ADMIN_PORT: '0',
    WASMHOST_METRICS_PORT: String(metricsPort), WASMHOST_MQTT_PORT: String(mqttPort), WASMHOST_MQTT_WS_PORT: '0', WASMHOST_MQTT_ALLOW_ANONYMOUS: 'true',
  });
  adminPort = Number((await host.waitForLog(/http:\/\/127\.0\.0\.1:(\d+)\/methods/))[1]);
  for (const name of Object.keys(workloads)) await host.waitForLog(new RegExp(`\\[workload=${name}\\] running [0-9a-f]{12} \\(graph\\)`), 60_000);
  client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`);
}, 120_000);

afterAll(async () => {
  await client?.endAsync();
  await host?.stop();
  registry?.stop();
  tmp.cleanup();
});

function guestBytesOf(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('a data flow graph of AIO operators', () => {
  it('turns Fahrenheit readings into one Celsius summary per window, without the out-of-range ones', async () => {
    // 98.6 F = 37 C, 212 F = 100 C (over the configured 60), 50 F = 10 C, -60 F = -51.11 C (under the default -40)
    await windowStart(1500);
    for (const value of [98.6, 212, 50, -60]) await publish('plant/p1/temperature', reading(value));
    const [summary] = await waitFor('a window summary', () => lines('temps').length > 0 && lines('temps'), 10_000);
    expect(summary!.output).toBe('celsius');
    expect(summary!.properties.topic).toBe('plant/p1/temperature');
    expect(summary!.body.temperature).toEqual({ count: 2, min: 10, max: 37, average: 23.5, last: 10, unit: 'C' });
    // one summary for the window, nothing more after it closed
    await new Promise((r) => setTimeout(r, 2000));
    expect(lines('temps')).toHaveLength(1);
  });

  it('counts each node and serves the operators\' own metrics in /metrics', async () => {
    const samples = await scrape(metricsPort);
    const node = (name: string, outcome: string) => sampleValue(samples, 'wasmhost_graph_node_messages_total', { workload: 'temps', node: name, outcome });
    expect(node('source', 'in')).toBe(4);
    expect(node('module-temperature/filter', 'dropped')).toBe(2);
    expect(node('module-temperature/accumulate', 'out')).toBe(1);
    expect(node('sink', 'out')).toBe(1);
    expect(sampleValue(samples, 'wasmhost_operator_counter_total', { workload: 'temps', node: 'module-temperature/map', name: 'requests', module: 'temperature/map' })).toBe(4);
    expect(sampleValue(samples, 'wasmhost_operator_histogram_count', { workload: 'temps', node: 'module-temperature/accumulate', name: 'window_readings' })).toBeGreaterThanOrEqual(1);
  });

  it('routes by branch arm, merges the arms, and keeps state-store counts across a restart', async () => {
    await publish('route/a', reading(212));
    await publish('route/b', JSON.stringify({ humidity: { value: 40 } }));
    await publish('route/a', reading(32));
    const out = await waitFor('three routed messages', () => lines('route').length >= 3 && lines('route'));
    expect(out.map((l) => l.body)).toEqual([{ temperature: { value: 100, unit: 'C', seq: 1 } }, { humidity: { value: 40 } }, { temperature: { value: 0, unit: 'C', seq: 2 } }]);
    const branch = (outcome: string, samples: Awaited<ReturnType<typeof scrape>>) => sampleValue(samples, 'wasmhost_graph_node_messages_total', { workload: 'route', node: 'module-temperature/branch', outcome });
    const samples = await waitFor('the branch counts (sent every 250 ms)', async () => {
      const s = await scrape(metricsPort);
      return branch('false', s) === 1 && s;
    });
    expect(branch('true', samples)).toBe(2);

    const before = (await status('route')).restarts;
    await method('restartWorkload', { name: 'route' });
    await waitFor('route running again', async () => (await status('route')).status === 'running');
    expect((await status('route')).restarts).toBeGreaterThanOrEqual(before);
    await publish('route/a', reading(50));
    const after = await waitFor('a fourth message', () => lines('route').length >= 4 && lines('route'));
    expect(after[3]!.body).toEqual({ temperature: { value: 10, unit: 'C', seq: 3 } }); // the count went on from the state store
  });

  it('runs a graph pulled from an OCI registry (AIO\'s media types) the same', async () => {
    await windowStart(1000);
    for (const value of [98.6, 50]) await publish('pulled/p1', reading(value));
    const [summary] = await waitFor('a summary from the pulled graph', () => lines('pulled').length > 0 && lines('pulled'), 10_000);
    expect(summary!.output).toBe('pulled');
    expect(summary!.body.temperature).toMatchObject({ count: 2, min: 10, max: 37, average: 23.5 });
  });
});

describe('the blob cache', () => {
  it('keeps a pulled graph and its modules across a reconcile, so a restart needs no registry', async () => {
    // Any change to the desired document reconciles, then drops cached blobs no workload pins.
    workloads.route = { ...workloads.route, config: { touched: 'yes' } };
    writeDesired();
    await host.waitForLog(/reconcile: replace route/);
    await waitFor('route running again', async () => (await status('route')).status === 'running');
    await new Promise((r) => setTimeout(r, 1000));
    const blob = (digest: string) => existsSync(join(tmp.path, 'data', 'blobs', 'sha256', digest));
    expect(blob(guestBytesOf(graphFile('temperature-window')))).toBe(true);
    expect(blob(TEMPERATURE.sha256)).toBe(true);
    expect(blob(guestBytes('graph-window').digest)).toBe(true);
    expect(host.logs()).not.toMatch(/cache: removed/);
  });
});

describe('a misbehaving operator', () => {
  it.each([
    ['trapping', 'trap'],
    ['looping', 'timeout'],
    ['growing', 'oom'],
  ])('%s: fails the message, the restart policy applies, and the graph serves again', async (name, reason) => {
    const topic = `hostile-${name[0]}/x`;
    await publish(topic, reading(212));
    await waitFor('the good message through', () => lines(name).length >= 1);
    await publish(topic, JSON.stringify({ other: 1 }));
    const failed = await waitFor(`${name} failed with ${reason}`, async () => {
      const s = await status(name);
      return s.lastExitReason === reason && s;
    }, 15_000);
    expect(failed.lastError).toMatch(new RegExp(reason === 'oom' ? 'memory limit' : reason === 'timeout' ? 'timeout|timed out|callTimeoutMs' : 'unreachable|trap'));
    await waitFor(`${name} running again`, async () => (await status(name)).status === 'running', 15_000);
    await publish(topic, reading(32));
    const out = await waitFor('a good message after the restart', () => lines(name).length >= 2 && lines(name));
    expect(out[1]!.body.temperature.value).toBe(0);
    const errors = sampleValue(await scrape(metricsPort), 'wasmhost_graph_node_messages_total', { workload: name, node: 'module-bad/map', outcome: 'error' });
    if (reason === 'trap') expect(errors).toBe(1); // a timeout or an oom ends the worker before it can count
  }, 40_000);

  it('the healthy graphs never noticed', async () => {
    for (const name of ['temps', 'pulled']) expect(await status(name)).toMatchObject({ status: 'running', restarts: 0, lastExitReason: null });
  });
});
