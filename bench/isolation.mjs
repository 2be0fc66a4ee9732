// Isolation benchmark (issue 5): 20 workloads; in the second run four of them misbehave (endless loop,
// trap, memory growth, flood) under restartPolicy always. The healthy ones' message rate and tick
// latency against an all-healthy run, same process, same settings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fetcher } from '../dist/fetch/index.js';
import { createLogger } from '../dist/ops/index.js';
import { Engine } from '../dist/runtime/index.js';
import { validateDesired } from '../dist/spec/index.js';
import { Supervisor } from '../dist/supervisor/index.js';
import { median, report, settle } from './stats.mjs';

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
