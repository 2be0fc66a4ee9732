// The device's pub/sub endpoint, as clients meet it: the module in local mode as its own process, real
// MQTT clients (mqtt.js, 3.1.1 and 5.0) over TCP and WebSocket, the sample threshold filter as the workload.
import { createHash } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { freePort, guestPath, sampleValue, scrape, tempDir, waitFor } from '../helpers.js';
import { startModule, type ModuleProcess } from '../module-process.js';

const tmp = tempDir();
const desiredFile = join(tmp.path, 'desired.json');
const sha = (password: string) => createHash('sha256').update(password).digest('hex');
let host: ModuleProcess;
let tcpPort = 0;
let wsPort = 0;
let adminPort = 0;
let metricsPort = 0;
const clients: MqttClient[] = [];

const rights = {
  plc: { passwordSha256: sha('plc-secret'), publish: ['plant/+/temperature'], subscribe: ['cmd/#'] },
  dashboard: { passwordSha256: sha('dash-secret'), publish: [], subscribe: ['alerts/#'] },
  flooder: { passwordSha256: sha('flood-secret'), publish: ['flood/#'], subscribe: [] },
  watcher: { passwordSha256: sha('watch-secret'), publish: ['flood/calm'], subscribe: ['flood/#'] },
};
/** Publishes a second the module takes from one client in this suite (WASMHOST_MQTT_CLIENT_RATE). */
const CLIENT_RATE = 500;
const desired = (brokerClients: Record<string, unknown>) => JSON.stringify({
  schemaVersion: '1.0',
  workloads: { filter: { source: 'file://filter.wasm', subscribe: ['plant/+/temperature'], config: { threshold: '30' }, limits: { memoryMb: 128 } } },
  broker: { clients: brokerClients },
});

/** Connects; resolves with the client, or rejects with the CONNACK refusal. */
function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    clients.push(client);
    client.once('connect', () => resolve(client));
    client.once('error', (err) => reject(err));
  });
}
const tcp = () => `mqtt://127.0.0.1:${tcpPort}`;
const ws = () => `ws://127.0.0.1:${wsPort}/mqtt`;
const reading = (temperature: number) => JSON.stringify({ machine: { name: 'press-1', temperature } });
const alertsLogged = () => host.logs().split('\n').filter((l) => l.startsWith('{') && l.includes('"output":"alerts"')).length;

beforeAll(async () => {
  copyFileSync(guestPath('threshold-filter'), join(tmp.path, 'filter.wasm'));
  writeFileSync(desiredFile, desired(rights));
  [tcpPort, wsPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  host = startModule({ WASMHOST_DATA_DIR: join(tmp.path, 'data'), WASMHOST_DESIRED_FILE: desiredFile, WASMHOST_ALLOW_UNPINNED: 'true', WASMHOST_ADMIN_PORT: '0', WASMHOST_METRICS_PORT: String(metricsPort), WASMHOST_MQTT_PORT: String(tcpPort), WASMHOST_MQTT_WS_PORT: String(wsPort), WASMHOST_MQTT_CLIENT_RATE: String(CLIENT_RATE) });
  adminPort = Number((await host.waitForLog(/http:\/\/127\.0\.0\.1:(\d+)\/methods/))[1]);
  await host.waitForLog(/\[workload=filter\] running/);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  expect(await host.stop()).toBe(0);
  tmp.cleanup();
});

describe.each([['TCP', tcp], ['WebSocket', ws]] as const)('over %s', (_name, url) => {
  it('a client with the right password publishes to a topic the workload subscribes: its telemetry results; a 5.0 subscriber gets the workload\'s publish with content type and properties', async () => {
    const dashboard = await connect(url(), { username: 'dashboard', password: 'dash-secret', protocolVersion: 5 });
    const received: Array<{ topic: string; payload: string; contentType?: string; user?: Record<string, unknown> }> = [];
    dashboard.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), contentType: packet.properties?.contentType, user: packet.properties?.userProperties }));
    await dashboard.subscribeAsync('alerts/#', { qos: 0 });
    const plc = await connect(url(), { username: 'plc', password: 'plc-secret', protocolVersion: 4 });
    const before = alertsLogged();
    await plc.publishAsync('plant/press-1/temperature', reading(99), { qos: 1 });
    await waitFor('the filter\'s alert telemetry', () => alertsLogged() > before, 10_000);
    const alert = await waitFor('the alert at the subscriber', () => received.find((r) => r.topic === 'alerts/press-1'), 10_000);
    expect(JSON.parse(alert.payload)).toMatchObject({ alert: 'temperature above threshold', source: 'topic/plant/press-1/temperature' });
    expect(alert.contentType).toBe('application/json');
    expect(alert.user).toEqual({ alertType: 'temperature' });
  });
});

describe('a slow subscriber', () => {
  it('does not slow the workload or other clients: it is disconnected once its socket stays full, and counted', async () => {
    const slow = await connect(tcp(), { username: 'dashboard', password: 'dash-secret', protocolVersion: 5, clientId: 'slow' });
    await slow.subscribeAsync('alerts/#', { qos: 0 });
    (slow as unknown as { stream: { pause(): void } }).stream.pause(); // stops reading: its socket fills
    const fast = await connect(tcp(), { username: 'dashboard', password: 'dash-secret', protocolVersion: 5, clientId: 'fast' });
    const arrivals: number[] = [];
    fast.on('message', () => arrivals.push(Date.now()));
    await fast.subscribeAsync('alerts/#', { qos: 0 });
    const plc = await connect(tcp(), { username: 'plc', password: 'plc-secret', protocolVersion: 5 });
    const padded = JSON.stringify({ machine: { name: 'press-1', temperature: 99 }, pad: 'p'.repeat(16 * 1024) });
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 9000) {
      plc.publish('plant/press-1/temperature', padded, { qos: 0 });
      sent++;
      await new Promise((r) => setTimeout(r, 20));
    }
    // Disconnected by the broker (its socket never drained) and counted.
    await waitFor('the slow subscriber counted', async () => (sampleValue(await scrape(metricsPort), 'wasmhost_broker_messages_dropped_total', { client: 'dashboard', reason: 'slow-subscriber' }) ?? 0) >= 1, 30_000);
    // The fast subscriber was served the whole time: no gap of 2 s, most of what the filter forwarded.
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    expect(Math.max(...gaps)).toBeLessThan(2000);
    expect(arrivals.length).toBeGreaterThan(sent * 0.5);
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/methods/listWorkloads`, { method: 'POST' })).json() as Array<{ name: string; restarts: number; status: string }>;
    expect(metrics.find((w) => w.name === 'filter')).toMatchObject({ status: 'running', restarts: 0 });
    expect(host.logs()).not.toMatch(/unhandled rejection/);
    const samples = await scrape(metricsPort);
    expect(sampleValue(samples, 'wasmhost_broker_messages_total', { client: 'plc', direction: 'in' })).toBeGreaterThanOrEqual(sent);
    expect(sampleValue(samples, 'wasmhost_broker_messages_total', { client: 'dashboard', direction: 'out' })).toBeGreaterThan(0);
    expect(sampleValue(samples, 'wasmhost_broker_clients_connected')).toBeGreaterThan(0);
  }, 40_000);
});

describe('a flooding publisher', () => {
  it('is held to its rate, loses nothing, and another client publishing meanwhile is not held behind it', async () => {
    const watcher = await connect(tcp(), { username: 'watcher', password: 'watch-secret', protocolVersion: 5 });
    const flooded: number[] = [];
    let calmArrived = 0;
    watcher.on('message', (topic) => (topic === 'flood/calm' ? (calmArrived = Date.now()) : flooded.push(Date.now())));
    await watcher.subscribeAsync('flood/#', { qos: 0 });
    const flooder = await connect(tcp(), { username: 'flooder', password: 'flood-secret', protocolVersion: 5 });
    const count = CLIENT_RATE * 3;
    const started = Date.now();
    for (let i = 0; i < count; i++) flooder.publish('flood/x', `m${i}`, { qos: 0 });
    await waitFor('the flood under way', () => flooded.length > CLIENT_RATE, 10_000);
    const calmSent = Date.now();
    watcher.publish('flood/calm', 'hello', { qos: 0 });
    await waitFor('every flooded message', () => flooded.length === count, 20_000);
    // One second's burst at once, the rest at the rate: (3 - 1) seconds at least; none lost.
    expect(flooded.at(-1)! - started).toBeGreaterThanOrEqual(1800);
    expect(calmArrived - calmSent).toBeLessThan(500); // the other client was not queued behind the flood
    expect(calmArrived).toBeLessThan(flooded.at(-1)!);
    expect(host.logs()).toMatch(/broker: client flooder publishes faster than 500 a second .*: held to it/);
  }, 30_000);
});

describe('refusals', () => {
  it.each([
    ['a wrong password', { username: 'plc', password: 'nope' }],
    ['an unknown client', { username: 'stranger', password: 'x' }],
    ['an anonymous client (not allowed by default)', {}],
  ])('%s is refused at CONNACK', async (_name, options) => {
    await expect(connect(tcp(), { ...options, protocolVersion: 5 })).rejects.toThrow(/Bad User Name or Password|Not authorized|Connection refused/i);
    expect(host.logs()).not.toMatch(/nope/); // no password in the log
  });

  it('a publish outside the client\'s rights is refused (PUBACK 0x87), a subscribe outside them too (SUBACK 0x87); the client stays connected', async () => {
    const plc = await connect(tcp(), { username: 'plc', password: 'plc-secret', protocolVersion: 5 });
    await expect(plc.publishAsync('alerts/fake', 'x', { qos: 1 })).rejects.toMatchObject({ code: 0x87 });
    await expect(plc.subscribeAsync('alerts/#', { qos: 0 })).rejects.toThrow(/Not authorized/);
    expect((await plc.subscribeAsync('cmd/line-1', { qos: 0 }))[0]?.qos).toBe(0); // within its rights
    await expect(plc.publishAsync('$SYS/x', 'x', { qos: 1 })).rejects.toMatchObject({ code: 0x87 });
    expect(plc.connected).toBe(true);
  });

  it('an oversize publish is refused and the broker serves on', async () => {
    const plc = await connect(tcp(), { username: 'plc', password: 'plc-secret', protocolVersion: 5 });
    plc.on('error', () => undefined);
    plc.publish('plant/press-1/temperature', Buffer.alloc(300 * 1024), { qos: 0 });
    await waitFor('the oversize client dropped', () => !plc.connected, 5000);
    const again = await connect(tcp(), { username: 'plc', password: 'plc-secret', protocolVersion: 5 });
    await again.publishAsync('plant/press-1/temperature', reading(20), { qos: 1 });
  });

  it('removing a client from the desired document disconnects it; listBrokerClients shows who is connected', async () => {
    const dashboard = await connect(tcp(), { username: 'dashboard', password: 'dash-secret', protocolVersion: 5 });
    const list = await (await fetch(`http://127.0.0.1:${adminPort}/methods/listBrokerClients`, { method: 'POST' })).json() as Array<{ name: string }>;
    expect(list.map((c) => c.name)).toContain('dashboard');
    writeFileSync(desiredFile, desired({ plc: rights.plc }));
    await waitFor('the removed client disconnected', () => !dashboard.connected, 10_000);
    await expect(connect(tcp(), { username: 'dashboard', password: 'dash-secret', protocolVersion: 5 })).rejects.toThrow();
  });
});

it('a broker port already taken (by another program) is logged and the host runs on', async () => {
  const { createServer } = await import('node:net');
  const taken = createServer();
  const [mqttPort, wsTakenPort] = [await freePort(), await freePort()];
  await new Promise<void>((r) => taken.listen(wsTakenPort, '127.0.0.1', r));
  const other = tempDir();
  try {
    writeFileSync(join(other.path, 'desired.json'), JSON.stringify({ schemaVersion: '1.0', workloads: {} }));
    const second = startModule({ WASMHOST_DATA_DIR: join(other.path, 'data'), WASMHOST_DESIRED_FILE: join(other.path, 'desired.json'), WASMHOST_ADMIN_PORT: '0', WASMHOST_METRICS_PORT: '0', WASMHOST_MQTT_PORT: String(mqttPort), WASMHOST_MQTT_WS_PORT: String(wsTakenPort) });
    await second.waitForLog(/broker: MQTT over WebSocket not started on 127\.0\.0\.1:\d+: listen EADDRINUSE/);
    await second.waitForLog(/admin endpoint/);
    await new Promise((r) => setTimeout(r, 500));
    expect(second.child.exitCode).toBeNull();
    expect(await second.stop()).toBe(0);
  } finally {
    taken.close();
    other.cleanup();
  }
});
