// Scale (issue 17): N small workloads (the WAT echo guest, one message a second each) and N JavaScript
// ones (the temperature sensor, one a second) in one module, the module as its own process in local
// mode. Per N: resident memory of every process of the module, per workload, tick lateness (how far
// each message is behind its workload's one-a-second schedule), CPU; and the largest N that fits 1 GB.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { treeCpuSeconds, treeRssMb } from '../test-support/process-tree.mjs';
import { guest } from './edge.mjs';
import { moduleEnv, owned, settle } from './stats.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const WINDOW_S = Number(process.env.SCALE_WINDOW_SECONDS ?? 20);
const DEVICE_MB = 1024;

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))] : NaN;
};

/** The module with `count` workloads of `kind`; measured over WINDOW_S once every workload has sent. */
async function measure(kind, count) {
  const dir = mkdtempSync(join(tmpdir(), 'wh-scale-'));
  mkdirSync(join(dir, 'wasm'));
  const source = kind === 'small' ? guest(dir, 'echo') : guest(dir, 'temperature-sensor');
  const workloads = {};
  for (let i = 0; i < count; i++) {
    workloads[`w${i}`] = { ...source, timerMs: 1000, ...(kind === 'js' ? { config: { machine: `m${i}` }, limits: { memoryMb: 64 } } : { limits: { memoryMb: 16 } }) };
  }
  writeFileSync(join(dir, 'desired.json'), JSON.stringify({ schemaVersion: '1.0', workloads }));
  const env = moduleEnv({
    PATH: process.env.PATH, WASMHOST_DATA_DIR: dir, WASMHOST_DESIRED_FILE: join(dir, 'desired.json'), WASMHOST_ADMIN_PORT: '0',
    WASMHOST_METRICS_PORT: '0', WASMHOST_MQTT_PORT: '0', WASMHOST_MQTT_WS_PORT: '0', RuntimeLogLevel: 'warning',
  });
  // The compile cache is filled first (as on a device after its first start): the transpiler process,
  // ~100-250 MB while it lives, is not part of the steady state measured here.
  spawnSync(process.execPath, [join(ROOT, 'dist/cli/wasmhost.cjs'), 'inspect', join(dir, source.source.slice('file://'.length))], { env, stdio: 'ignore' });
  const child = owned(spawn(process.execPath, [join(ROOT, 'dist/cli/wasmhost.cjs'), 'start'], { env, stdio: ['ignore', 'pipe', 'inherit'] }));
  const arrivals = new Map(); // workload -> [ms]
  let buffer = '';
  child.stdout.on('data', (chunk) => {
    buffer += chunk.toString();
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const { workload, time } = JSON.parse(line);
      if (!arrivals.has(workload)) arrivals.set(workload, []);
      arrivals.get(workload).push(Date.parse(time));
    }
  });
  try {
    const started = Date.now();
    while (arrivals.size < count) {
      if (Date.now() - started > 180_000) throw new Error(`only ${arrivals.size} of ${count} workloads sent within 3 minutes`);
      await settle(200);
    }
    await settle(3000); // past the start-up
    const cpu0 = treeCpuSeconds(child.pid);
    const t0 = Date.now();
    for (const list of arrivals.values()) list.length = 0;
    const rss = [];
    while (Date.now() - t0 < WINDOW_S * 1000) {
      await settle(1000);
      rss.push(treeRssMb(child.pid));
    }
    const seconds = (Date.now() - t0) / 1000;
    const cpu = (treeCpuSeconds(child.pid) - cpu0) / seconds;
    // Lateness: each message against its workload's schedule (its first message in the window + k s).
    const lateness = [];
    for (const list of arrivals.values()) list.forEach((t, k) => lateness.push(t - list[0] - k * 1000));
    const memory = Math.max(...rss);
    return { count, memory, perWorkload: memory / count, p50: percentile(lateness, 0.5), p99: percentile(lateness, 0.99), cpu: cpu * 100 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(title, rows) {
  const fit = rows.filter((r) => r.memory <= DEVICE_MB).at(-1);
  const last = rows.at(-1);
  const perMb = rows.length > 1 ? (last.memory - rows[0].memory) / (last.count - rows[0].count) : rows[0].perWorkload;
  const fitsEstimate = Math.floor(rows[0].count + (DEVICE_MB - rows[0].memory) / perMb);
  return [
    `### ${title} (one message a second each; ${WINDOW_S} s window)`,
    '',
    '| workloads | module RSS MB (all processes, peak) | MB per workload | tick lateness p50 / p99 ms | CPU % of one core |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.count} | ${r.memory.toFixed(0)} | ${r.perWorkload.toFixed(1)} | ${r.p50.toFixed(0)} / ${r.p99.toFixed(0)} | ${r.cpu.toFixed(1)} |`),
    '',
    `Largest N measured within ${DEVICE_MB} MB: ${fit ? fit.count : 'none'}; each further workload costs ~${perMb.toFixed(1)} MB, so ~${fitsEstimate} fit (linear estimate).`,
    '',
  ].join('\n');
}

export async function scaleBench() {
  const small = [];
  for (const n of (process.env.SCALE_SMALL ?? '10,25,50,100').split(',').map(Number)) small.push(await measure('small', n));
  const js = [];
  for (const n of (process.env.SCALE_JS ?? '5,10,20').split(',').map(Number)) js.push(await measure('js', n));
  return [table('Small (WAT) handler workloads', small), table('JavaScript handler workloads (QuickJS, 1.6 MB component)', js)].join('\n');
}
