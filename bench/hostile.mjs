// Hostile load against the module as its own process (`wasmhost start`, local mode), driven only
// through its public surfaces: the desired file, its http, MQTT and metrics ports. Five healthy echo
// workloads tick every 100 ms; first alone (calm), then beside workloads that loop, trap, grow memory
// and tables, flood telemetry and stderr, an http workload under slow and oversize clients, and MQTT
// clients publishing as fast as they can, and MQTT clients trying to make the broker keep what they send
// (retained messages on ever new topics, stored sessions under ever new client ids, each subscribed at
// QoS 1 to what the others publish). Then the hostile ones are removed (after). Per phase: the
// healthy workloads' messages per second, /health latency, the module's resident memory, runner crashes.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { freePort } from '../test-support/free-port.mjs';
import { moduleRss } from '../test-support/process-tree.mjs';
import { metricReader } from './metrics.mjs';
import { GLIBC_MALLOC_ENV } from '../dist/runtime/runner/allocator.js';
import { median, moduleEnv, owned, report, settle } from './stats.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const PHASE_MS = Number(process.env.HOSTILE_PHASE_SECONDS ?? 60) * 1000;
const HEALTHY = ['h0', 'h1', 'h2', 'h3', 'h4'];
// HOSTILE_PARTS=workloads,http,mqtt,hoard (the default: all) picks which of them run, to tell whose harm is whose.
const PARTS = (process.env.HOSTILE_PARTS ?? 'workloads,http,mqtt,hoard').split(',');
const GUESTS = ['echo', 'loop', 'trap', 'grow', 'table-grow', 'flood', 'stderr-flood', 'http-echo'];

function desired(webPort, hostile) {
  const workloads = Object.fromEntries(HEALTHY.map((name) => [name, { source: 'file://wasm/echo.wasm', timerMs: 100 }]));
  if (hostile && PARTS.includes('workloads')) {
    Object.assign(workloads, {
      loop: { source: 'file://wasm/loop.wasm', timerMs: 100, limits: { callTimeoutMs: 200 } },
      trap: { source: 'file://wasm/trap.wasm', timerMs: 100 },
      grow: { source: 'file://wasm/grow.wasm', timerMs: 100, limits: { memoryMb: 16 } },
      tables: { source: 'file://wasm/table-grow.wasm', timerMs: 100 },
      flood: { source: 'file://wasm/flood.wasm', timerMs: 1000, limits: { messagesPerSecond: 1000, callTimeoutMs: 10_000 } },
      stderr: { source: 'file://wasm/stderr-flood.wasm', args: ['5'], restartPolicy: 'always' },
    });
  }
  if (hostile && PARTS.includes('http')) {
    workloads.web = { source: 'file://wasm/http-echo.wasm', capabilities: { listen: { port: webPort } }, limits: { memoryMb: 128, callTimeoutMs: 1000 } };
  }
  return JSON.stringify({ schemaVersion: '1.0', workloads });
}

/** Slow-header clients, oversize bodies and well-behaved requests against the http workload. */
function attackHttp(port) {
  const sockets = [];
  const slow = setInterval(() => {
    while (sockets.length < 50) {
      const s = tcpConnect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => sockets.splice(sockets.indexOf(s), 1));
      s.write('GET /slow HTTP/1.1\r\nHost: x\r\n');
      sockets.push(s);
    }
    for (const s of sockets) s.write('X-Drip: 1\r\n');
  }, 500);
  const big = Buffer.alloc(8 * 1024 * 1024, 'x');
  const oversize = setInterval(() => void fetch(`http://127.0.0.1:${port}/big`, { method: 'POST', body: big }).then((r) => r.arrayBuffer()).catch(() => undefined), 250);
  return () => {
    clearInterval(slow);
    clearInterval(oversize);
    for (const s of sockets) s.destroy();
  };
}

/** MQTT clients publishing 1 KB messages back to back. */
async function floodMqtt(port) {
  const clients = await Promise.all(Array.from({ length: 8 }, () => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 })));
  const payload = Buffer.alloc(1024, 'm');
  let stopped = false;
  for (const client of clients) {
    client.on('error', () => undefined);
    const pump = () => {
      if (stopped || !client.connected) return;
      for (let i = 0; i < 100; i++) client.publish(`flood/${i % 10}`, payload, { qos: 0 });
      setImmediate(pump);
    };
    pump();
  }
  return async () => {
    stopped = true;
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  };
}

/**
 * Clients making the broker keep things: 64 KB retained messages, each on a new topic, published at
 * QoS 1 back to back, while a new client id every 50 ms subscribes to them at QoS 1 without a clean
 * session and leaves, so that every later publish is queued for every stored session.
 */
async function hoardMqtt(port) {
  const url = `mqtt://127.0.0.1:${port}`;
  const publisher = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  publisher.on('error', () => undefined);
  const payload = Buffer.alloc(64 * 1024, 'h');
  let stopped = false;
  let topic = 0;
  const publish = () => {
    if (stopped || !publisher.connected) return;
    publisher.publishAsync(`hoard/${topic++}`, payload, { qos: 1, retain: true }).then(publish, () => undefined);
  };
  publish();
  let id = 0;
  const sessions = setInterval(() => {
    mqtt.connectAsync(url, { reconnectPeriod: 0, clean: false, clientId: `hoarder-${id++}` })
      .then(async (c) => {
        c.on('error', () => undefined);
        await c.subscribeAsync('hoard/#', { qos: 1 });
        await c.endAsync(true);
      })
      .catch(() => undefined);
  }, 50);
  return async () => {
    stopped = true;
    clearInterval(sessions);
    await publisher.endAsync(true).catch(() => undefined);
  };
}

/** One phase: healthy messages per second, /health latency and the module's peak resident memory. */
async function measure(child, metricsPort, ms) {
  const read = await metricReader(metricsPort);
  const sentBefore = HEALTHY.map((n) => read('wasmhost_messages_sent_total', { workload: n }));
  const started = performance.now();
  const health = [];
  let peakMb = 0;
  while (performance.now() - started < ms) {
    const t = performance.now();
    const ok = await fetch(`http://127.0.0.1:${metricsPort}/health`, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
    health.push(ok ? performance.now() - t : 5000);
    peakMb = Math.max(peakMb, moduleRss(child.pid).allMb);
    await settle(200);
  }
  const seconds = (performance.now() - started) / 1000;
  const after = await metricReader(metricsPort);
  const rates = HEALTHY.map((n, i) => (after('wasmhost_messages_sent_total', { workload: n }) - sentBefore[i]) / seconds);
  health.sort((a, b) => a - b);
  const end = moduleRss(child.pid);
  return {
    healthyRate: median(rates),
    healthP99: health[Math.floor(health.length * 0.99)],
    peakMb,
    endMb: end.allMb,
    runnerEndMb: end.runnerMb,
    crashes: after('wasmhost_runner_crashes_total'),
    restarts: after('wasmhost_workload_restarts_total', {}, true),
  };
}

export async function hostileBench() {
  const dir = mkdtempSync(join(tmpdir(), 'wh-hostile-'));
  mkdirSync(join(dir, 'wasm'));
  for (const guest of GUESTS) copyFileSync(join(ROOT, 'guest-modules/dist', `${guest}.wasm`), join(dir, 'wasm', `${guest}.wasm`));
  const [metricsPort, webPort, mqttPort] = [await freePort(), await freePort(), await freePort()];
  const desiredFile = join(dir, 'desired.json');
  writeFileSync(desiredFile, desired(webPort, false));
  const env = moduleEnv({
    PATH: process.env.PATH, WASMHOST_DATA_DIR: dir, WASMHOST_DESIRED_FILE: desiredFile, WASMHOST_ALLOW_UNPINNED: 'true',
    WASMHOST_METRICS_PORT: String(metricsPort), WASMHOST_ADMIN_PORT: '0', WASMHOST_MQTT_PORT: String(mqttPort), WASMHOST_MQTT_WS_PORT: '0',
    WASMHOST_MQTT_ALLOW_ANONYMOUS: 'true', RuntimeLogLevel: 'error', ...GLIBC_MALLOC_ENV, // as the image sets it for the host
  });
  // The module's errors go to the bench's stderr: a failed read or a crash is explained there.
  const child = owned(spawn(process.execPath, [join(ROOT, 'dist/cli/wasmhost.cjs'), 'start'], { env, stdio: ['ignore', 'ignore', 'inherit'] }));
  try {
    await settle(10_000); // started and warm
    const calm = await measure(child, metricsPort, PHASE_MS);
    writeFileSync(desiredFile, desired(webPort, true));
    await settle(5000);
    const stopHttp = PARTS.includes('http') ? attackHttp(webPort) : () => undefined;
    const stopMqtt = PARTS.includes('mqtt') ? await floodMqtt(mqttPort) : async () => undefined;
    const stopHoard = PARTS.includes('hoard') ? await hoardMqtt(mqttPort) : async () => undefined;
    let hostile;
    try {
      hostile = await measure(child, metricsPort, PHASE_MS);
    } finally {
      stopHttp();
      await stopMqtt();
      await stopHoard();
    }
    writeFileSync(desiredFile, desired(webPort, false));
    await settle(20_000);
    const after = await measure(child, metricsPort, PHASE_MS / 2);
    const alive = child.exitCode === null;
    const row = (what, unit, pick, digits) => [what, `${pick(hostile).toFixed(digits)} ${unit}`, `calm ${pick(calm).toFixed(digits)} ${unit}; after ${pick(after).toFixed(digits)} ${unit}`, (pick(hostile) / pick(calm)).toFixed(2)];
    return report(`Hostile load, the module as its own process (local mode; ${PARTS.join(', ')}; ${PHASE_MS / 1000} s a phase; module alive at the end: ${alive}; hostile workloads' restarts ${hostile.restarts}; runner crashes ${after.crashes})`, [
      row('healthy workload msg/s (median of 5; ticks every 100 ms)', '', (p) => p.healthyRate, 2),
      row('/health latency, p99 (polled every 200 ms)', 'ms', (p) => p.healthP99, 1),
      row('module resident memory, peak (host and runner)', 'MB', (p) => p.peakMb, 0),
      row('module resident memory at the end of the phase', 'MB', (p) => p.endMb, 0),
      row('... of it, the runner process', 'MB', (p) => p.runnerEndMb, 0),
    ]);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}
