// Runtime benchmarks (issue 2): cold compile vs start from cache, export and host-import call rates,
// memory per idle workload; each beside a plain-JS baseline measured in the same run.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Engine } from '../dist/runtime/index.js';
import { EffectBuffer } from '../dist/runtime/worker/effects.js';
import { hostImports } from '../dist/runtime/worker/host-api.js';
import { median, report, settle } from './stats.mjs';
import { treeRssMb } from '../test-support/process-tree.mjs';

const GUESTS = new URL('../guest-modules/dist/', import.meta.url);
const ROUNDS = 5;
const listener = { effects() {}, stdout() {}, stderr() {}, ended() {} };
const options = (over = {}) => ({
  workload: 'bench', memoryMb: 128, callTimeoutMs: 60_000, messagesPerSecond: 1e9, maxMessageBytes: 262144,
  config: { machine: 'm', minTemp: '21', maxTemp: '40' }, env: {}, args: [], preopens: {}, allowedHosts: [], kvDir: undefined, ...over,
});
const load = (name) => {
  const bytes = readFileSync(new URL(`${name}.wasm`, GUESTS));
  return { bytes, digest: createHash('sha256').update(bytes).digest('hex') };
};

/** Transpile + compile with an empty cache, median of 3: `component` is { bytes, digest }. */
export async function coldCompileMs({ bytes, digest }) {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'wh-bench-'));
    const engine = new Engine(dir);
    const t = performance.now();
    await engine.compile(bytes, digest);
    times.push(performance.now() - t);
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return median(times);
}

/** Start from the disk cache with compiled modules in memory: what a restart costs. */
export async function startFromCacheMs(engine, compiled, opts = options()) {
  (await engine.start(compiled, opts, listener)).stop(); // warm the module cache
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    await settle(150); // let the warm spare worker refill, as between real restarts
    const t = performance.now();
    const instance = await engine.start(compiled, opts, listener);
    await instance.call({ fn: 'init' });
    times.push(performance.now() - t);
    await instance.stop();
  }
  return median(times);
}

async function bareWorkerStartMs() {
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    const w = new Worker('require("worker_threads").parentPort.postMessage(1)', { eval: true });
    await new Promise((r) => w.once('message', r));
    times.push(performance.now() - t);
    await w.terminate();
  }
  return median(times);
}

async function callsPerSecond(engine, name, call, count) {
  const { bytes, digest } = load(name);
  const instance = await engine.start(await engine.compile(bytes, digest), options(), listener);
  await instance.call({ fn: 'init' });
  const rates = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    for (let done = 0; done < count; done += 500) {
      // the queue holds 1000 calls at most; keep 500 in flight
      await Promise.all(Array.from({ length: Math.min(500, count - done) }, () => instance.call(call)));
    }
    rates.push(count / ((performance.now() - t) / 1000));
  }
  await instance.stop();
  return median(rates);
}

/** flood.wasm calls telemetry.send 100000 times per on-timer: per-import cost, effects batching included. */
async function hostImportMicros(engine) {
  const { bytes, digest } = load('flood');
  let sent = 0;
  const instance = await engine.start(await engine.compile(bytes, digest), options(), { ...listener, effects: (e) => (sent += e.length) });
  await instance.call({ fn: 'init' });
  const per = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    await instance.call({ fn: 'onTimer' });
    per.push(((performance.now() - t) * 1000) / 100_000);
  }
  await instance.stop();
  if (sent < ROUNDS * 100_000) throw new Error(`only ${sent} messages arrived`);
  return median(per);
}

function plainJsRate(fn, count = 200_000) {
  const rates = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    for (let i = 0; i < count; i++) fn(i);
    rates.push(count / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

/** Resident memory (this process and the runner) per idle workload, over `count` of them. */
export async function idleMemoryMb(engine, compiled, count, opts = options()) {
  await settle(500);
  const before = treeRssMb(); // this process and the runner the workers live in
  const instances = [];
  for (let i = 0; i < count; i++) {
    const instance = await engine.start(compiled, opts, listener);
    await instance.call({ fn: 'init' });
    instances.push(instance);
  }
  await settle(1000);
  const perWorkload = (treeRssMb() - before) / count;
  await Promise.all(instances.map((i) => i.stop()));
  return perWorkload;
}

async function bareWorkerMemoryMb(count) {
  await settle(500);
  const before = process.memoryUsage().rss;
  const workers = [];
  for (let i = 0; i < count; i++) {
    const w = new Worker('require("worker_threads").parentPort.postMessage(1); setInterval(() => {}, 1e6)', { eval: true });
    await new Promise((r) => w.once('message', r));
    workers.push(w);
  }
  await settle(1000);
  const per = (process.memoryUsage().rss - before) / count / 1048576;
  await Promise.all(workers.map((w) => w.terminate()));
  return per;
}

export async function runtimeBench() {
  const dir = mkdtempSync(join(tmpdir(), 'wh-bench-'));
  const engine = new Engine(dir);
  const rows = [];
  try {
    const compile = (name) => engine.compile(load(name).bytes, load(name).digest);
    const watCold = await coldCompileMs(load('echo'));
    const jsCold = await coldCompileMs(load('temperature-sensor'));
    const watStart = await startFromCacheMs(engine, await compile('echo'));
    const jsStart = await startFromCacheMs(engine, await compile('temperature-sensor'));
    const workerStart = await bareWorkerStartMs();
    rows.push(['start from cache + init, small (WAT)', `${watStart.toFixed(1)} ms`, `cold compile (transpile) ${watCold.toFixed(0)} ms`, `${(watStart / watCold).toFixed(3)}`]);
    rows.push(['start from cache + init, JS (QuickJS, 1.6 MB)', `${jsStart.toFixed(1)} ms`, `cold compile (transpile) ${jsCold.toFixed(0)} ms`, `${(jsStart / jsCold).toFixed(3)}`]);
    rows.push(['start from cache + init, small (WAT)', `${watStart.toFixed(1)} ms`, `new bare worker thread ${workerStart.toFixed(1)} ms`, `${(watStart / workerStart).toFixed(2)}`]);

    const echoPlain = plainJsRate((i) => JSON.stringify({ x: i }));
    const watCalls = await callsPerSecond(engine, 'echo', { fn: 'onMethod', name: 'echo', payload: '{"x":1}' }, 20_000);
    const jsCalls = await callsPerSecond(engine, 'temperature-sensor', { fn: 'onMethod', name: 'reset', payload: '' }, 2_000);
    rows.push(['export calls/s (on-method), small (WAT)', `${Math.round(watCalls)}`, `plain JS function ${Math.round(echoPlain)}`, `${(watCalls / echoPlain).toFixed(4)}`]);
    rows.push(['export calls/s (on-method), JS (QuickJS, 1.6 MB)', `${Math.round(jsCalls)}`, `plain JS function ${Math.round(echoPlain)}`, `${(jsCalls / echoPlain).toFixed(4)}`]);

    const importUs = await hostImportMicros(engine);
    // Baseline: the same send implementation called from plain JS, no wasm boundary, no thread hop.
    const { send } = hostImports({ ...options(), config: [] }, new EffectBuffer(() => undefined), undefined, () => undefined)['edge:host/telemetry'];
    const body = new TextEncoder().encode('{"ok":true}');
    const plainSend = 1e6 / plainJsRate(() => send('ticks', { body, contentType: undefined, properties: [] }));
    rows.push(['host import (telemetry.send), small (WAT)', `${importUs.toFixed(2)} us`, `same send() from plain JS ${plainSend.toFixed(3)} us`, `${(importUs / plainSend).toFixed(1)}x`]);

    const bareMb = await bareWorkerMemoryMb(10);
    const watMb = await idleMemoryMb(engine, await compile('echo'), 5);
    const jsMb = await idleMemoryMb(engine, await compile('temperature-sensor'), 3);
    rows.push(['memory per idle workload, small (WAT)', `${watMb.toFixed(1)} MB`, `idle bare worker thread ${bareMb.toFixed(1)} MB`, `${(watMb / bareMb).toFixed(2)}x`]);
    rows.push(['memory per idle workload, JS (QuickJS, 1.6 MB)', `${jsMb.toFixed(1)} MB`, `idle bare worker thread ${bareMb.toFixed(1)} MB`, `${(jsMb / bareMb).toFixed(2)}x`]);
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return report('Runtime (issue 2)', rows);
}
