// The local broker (issue: the device's pub/sub endpoint): messages/s and latency of
// client -> broker -> workload (relay.wat) -> broker -> client through the module (local mode, its own
// process), against a plain aedes broker doing client -> client, in the same run.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { freePort } from '../test-support/free-port.mjs';
import { median, report, settle } from './stats.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const MESSAGES = 5000;
const LATENCY_SAMPLES = 300;
const IN_FLIGHT = 200;

async function connect(port) {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0 });
  await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
  return client;
}

/** Publishes on `inTopic`, receives on `outTopic`: throughput of a burst, then one-at-a-time round trips. */
async function measure(port, inTopic, outTopic) {
  const pub = await connect(port);
  const sub = await connect(port);
  let received = 0;
  let onMessage = () => undefined;
  sub.on('message', () => {
    received++;
    onMessage();
  });
  await sub.subscribeAsync(outTopic, { qos: 0 });
  await settle(200);
  const payload = Buffer.from(JSON.stringify({ reading: 21.5, pad: 'x'.repeat(100) }));
  const started = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    // At most IN_FLIGHT unanswered: the capacity of the path, not how much a QoS 0 burst can overflow
    // (a workload's queue holds 1000 calls; past it, messages are dropped and counted, by design).
    while (i - received >= IN_FLIGHT) await new Promise((r) => setImmediate(r));
    pub.publish(inTopic, payload, { qos: 0 });
  }
  const deadline = Date.now() + 30_000;
  while (received < MESSAGES * 0.99 && Date.now() < deadline) await settle(10);
  const rate = received / ((performance.now() - started) / 1000);
  const latencies = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const t = performance.now();
    await new Promise((resolve) => {
      onMessage = resolve;
      pub.publish(inTopic, payload, { qos: 0 });
    });
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  pub.end(true);
  sub.end(true);
  return { rate, p50: median(latencies), p99: latencies[Math.floor(latencies.length * 0.99)], lost: MESSAGES - Math.min(received, MESSAGES) };
}

export async function brokerBench() {
  // Baseline: a plain aedes broker, client -> client.
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const plain = await measure(server.address().port, 'bench/in', 'bench/in');
  server.close();
  await new Promise((r) => aedes.close(r));

  // wasmhost: client -> broker -> relay workload -> broker -> client.
  const dir = mkdtempSync(join(tmpdir(), 'wh-broker-bench-'));
  copyFileSync(join(ROOT, 'guest-modules/dist/relay.wasm'), join(dir, 'relay.wasm'));
  writeFileSync(join(dir, 'desired.json'), JSON.stringify({ schemaVersion: '1.0', workloads: { relay: { source: 'file://relay.wasm', subscribe: ['bench/in'], limits: { messagesPerSecond: 100_000 } } } }));
  const mqttPort = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/wasmhost.cjs'), 'start'], {
    env: { PATH: process.env.PATH, WASMHOST_DATA_DIR: join(dir, 'data'), WASMHOST_DESIRED_FILE: join(dir, 'desired.json'), WASMHOST_ALLOW_UNPINNED: 'true', WASMHOST_MQTT_ALLOW_ANONYMOUS: 'true', WASMHOST_MQTT_PORT: String(mqttPort), WASMHOST_MQTT_WS_PORT: '0', WASMHOST_ADMIN_PORT: '0', WASMHOST_METRICS_PORT: '0', RuntimeLogLevel: 'error' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await settle(3000); // started, relay running
    const ours = await measure(mqttPort, 'bench/in', 'relayed');
    return report('Local MQTT broker (client -> workload -> client vs plain aedes client -> client)', [
      [`messages/s, ${MESSAGES} messages with up to ${IN_FLIGHT} in flight (QoS 0, 130-byte payload; lost: ${ours.lost}, baseline ${plain.lost})`, Math.round(ours.rate), `plain aedes: ${Math.round(plain.rate)}`, (ours.rate / plain.rate).toFixed(2)],
      [`round trip p50, one at a time (${LATENCY_SAMPLES} samples)`, `${ours.p50.toFixed(2)} ms`, `plain aedes: ${plain.p50.toFixed(2)} ms`, `${(ours.p50 / plain.p50).toFixed(2)}x`],
      ['round trip p99', `${ours.p99.toFixed(2)} ms`, `plain aedes: ${plain.p99.toFixed(2)} ms`, `${(ours.p99 / plain.p99).toFixed(2)}x`],
    ]);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}
