// Isolation benchmark (issue 5): 20 workloads; in the second run four of them misbehave (endless loop,
// trap, memory growth, flood) under restartPolicy always. The healthy ones' message rate and tick
// latency against an all-healthy run, same process, same settings.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fetcher } from '../dist/fetch/index.js';
import { createLogger } from '../dist/ops/index.js';
import { Engine } from '../dist/runtime/index.js';
import { validateDesired } from '../dist/spec/index.js';
import { Supervisor } from '../dist/supervisor/index.js';
import { median, report, settle } from './stats.mjs';
import { treeRssMb } from '../test-support/process-tree.mjs';

const GUESTS = new URL('../guest-modules/dist/', import.meta.url).pathname;
const WORKLOADS = 20;
const WINDOW_MS = 6000;

async function healthyRate(misbehaving) {
  const dir = mkdtempSync(join(tmpdir(), 'wh-iso-'));
  const counts = new Map();
  const supervisor = new Supervisor({
    engine: new Engine(join(dir, 'compiled')),
    fetcher: new Fetcher({ dataDir: dir, fileBase: GUESTS, fileRoots: [GUESTS], maxBytes: 64 * 1024 * 1024, allowHttp: false }),
    dataDir: dir,
    sink: { send: (m) => counts.set(m.workload, (counts.get(m.workload) ?? 0) + 1) },
    log: createLogger('error', () => undefined),
    backoff: { baseMs: 200, maxMs: 1000, resetAfterMs: 60_000 },
  });
  const workloads = {};
  for (let i = 0; i < WORKLOADS; i++) workloads[`h${i}`] = { source: 'file://echo.wasm', timerMs: 20 };
  for (const [name, guest, extra] of misbehaving) {
    delete workloads[name];
    workloads[`bad-${guest}`] = { source: `file://${guest}.wasm`, timerMs: 20, ...extra };
  }
  await supervisor.apply(validateDesired({ schemaVersion: '1.0', workloads }, { allowUnpinned: true }));
  await settle(2000); // all started
  const healthy = Object.keys(workloads).filter((n) => n.startsWith('h'));
  const before = healthy.map((n) => counts.get(n) ?? 0);
  const t = performance.now();
  await settle(WINDOW_MS);
  const seconds = (performance.now() - t) / 1000;
  const rates = healthy.map((n, i) => ((counts.get(n) ?? 0) - before[i]) / seconds);
  const bad = supervisor.list().filter((s) => s.name.startsWith('bad-')).map((s) => `${s.name}:${s.restarts}`);
  await supervisor.shutdown();
  rmSync(dir, { recursive: true, force: true });
  return { perWorkload: median(rates), bad };
}

export async function isolationBench() {
  const allHealthy = await healthyRate([]);
  const faulty = await healthyRate([
    ['h16', 'loop', { limits: { callTimeoutMs: 200 } }],
    ['h17', 'trap', {}],
    ['h18', 'grow', { limits: { memoryMb: 16 } }],
    ['h19', 'flood', { timerMs: 1000, limits: { messagesPerSecond: 1000, callTimeoutMs: 10_000 } }],
  ]);
  return report('Isolation under fault (issue 5)', [
    [
      `healthy workload msg/s (median of 16; ticks every 20 ms), beside loop, trap, grow and flood (restarts: ${faulty.bad.join(', ')})`,
      faulty.perWorkload.toFixed(1),
      `all 20 healthy: ${allHealthy.perWorkload.toFixed(1)}`,
      (faulty.perWorkload / allHealthy.perWorkload).toFixed(2),
    ],
  ]);
}

const IDLE_WORKLOADS = Number(process.env.BENCH_IDLE_WORKLOADS ?? 20);
const LATENCY_CALLS = 2000;
const instanceOptions = {
  workload: 'bench', memoryMb: 64, callTimeoutMs: 60_000, messagesPerSecond: 1e9, maxMessageBytes: 262144,
  config: {}, env: {}, args: [], preopens: {}, allowedHosts: [], kvDir: undefined,
};
const quiet = { effects() {}, stdout() {}, stderr() {}, ended() {} };

/** Memory of the module (this process and any runner) and call latency, with workers placed as asked. */
async function placementFigures(placement) {
  const dir = mkdtempSync(join(tmpdir(), 'wh-place-'));
  const engine = new Engine(join(dir, 'compiled'), { placement });
  const bytes = readFileSync(join(GUESTS, 'echo.wasm'));
  const compiled = await engine.compile(bytes, createHash('sha256').update(bytes).digest('hex'));
  await settle(1000);
  const empty = treeRssMb();
  const start = async () => {
    const instance = await engine.start(compiled, instanceOptions, quiet);
    await instance.call({ fn: 'init' });
    return instance;
  };
  const instances = [await start()];
  await settle(1000);
  const one = treeRssMb();
  for (let i = 0; i < IDLE_WORKLOADS; i++) instances.push(await start());
  await settle(1500);
  const perWorkload = (treeRssMb() - one) / IDLE_WORKLOADS;
  const latencies = [];
  const call = { fn: 'onMethod', name: 'echo', payload: '{"x":1}' };
  for (let i = 0; i < LATENCY_CALLS; i++) {
    const t = performance.now();
    await instances[0].call(call);
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  await Promise.all(instances.map((i) => i.stop()));
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
  return { fixed: one - empty - perWorkload, perWorkload, p50: median(latencies), p99: latencies[Math.floor(latencies.length * 0.99)] };
}

/** Issue 10: what the runner process costs, against workers as threads of the host, same run. */
export async function placementBench() {
  const threads = await placementFigures('threads');
  const runner = await placementFigures('runner');
  const row = (what, unit, pick, digits) => [what, `${pick(runner).toFixed(digits)} ${unit}`, `threads in the host ${pick(threads).toFixed(digits)} ${unit}`, (pick(runner) / pick(threads)).toFixed(2)];
  return report('Workers in a runner process vs threads of the host (issue 10)', [
    row('memory of the first workload, over the empty module (runner start included)', 'MB', (f) => f.fixed + f.perWorkload, 1),
    row(`memory per further idle small workload (${IDLE_WORKLOADS} started)`, 'MB', (f) => f.perWorkload, 1),
    row(`on-method call round trip, p50 (${LATENCY_CALLS} sequential calls)`, 'ms', (f) => f.p50, 3),
    row('on-method call round trip, p99', 'ms', (f) => f.p99, 3),
  ]);
}
