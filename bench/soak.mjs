// Soak (issue: runs for months): the module as its own process under a steady load for SOAK_MINUTES
// (default 60), in local mode and in IoT Edge mode (against the emulator) side by side: two JavaScript
// handlers (sensor ticking every 20 ms, filter subscribed to its topic), the small echo guest ticking
// every 10 ms, an http workload under SOAK_RPS requests a second, and a command restarted by its policy.
// Every 30 s: resident memory of the module's processes (host and runner; the floor of the interval's reads, one a
// second, and its last read, from /proc), its main thread's JS heap, the runner's, each worker's JS heap (in use;
// all of them committed) and linear memory (from /metrics), messages sent, the host's and the runner's resident
// memory by kind of mapping (malloc arenas, V8 heap pages, wasm linear memory, code; /proc smaps), and V8 heap
// pages by their own headers, the runner's by isolate (/proc/<pid>/mem). Prints a table per mode and the least-squares slope
// (MB per hour) after SOAK_WARMUP_MINUTES (default 10). SOAK_WORKLOADS=a,b runs only those (to tell which one a
// growth follows); SOAK_WEB_GUEST=http-hello serves http with a reused instance; WASMHOST_PACED_GC,
// MALLOC_CONF and LD_PRELOAD pass on to the module (moduleEnv).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeHubEmulator } from '../test-support/edgehub/emulator.mjs';
import { freePort } from '../test-support/free-port.mjs';
import { moduleRss, rssByKind, v8Heaps } from '../test-support/process-tree.mjs';
import { moduleEnv, owned } from './stats.mjs';
import { metricReader } from './metrics.mjs';
import { GLIBC_MALLOC_ENV } from '../dist/runtime/runner/allocator.js';

const ROOT = new URL('..', import.meta.url).pathname;
const MINUTES = Number(process.env.SOAK_MINUTES ?? 60);
const WARMUP_MINUTES = Number(process.env.SOAK_WARMUP_MINUTES ?? Math.min(10, MINUTES / 3));
const SAMPLE_MS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 30) * 1000;
const RPS = Number(process.env.SOAK_RPS ?? 5);
// A subset of the workloads (comma-separated names), to tell which one a growth follows.
const ONLY = process.env.SOAK_WORKLOADS?.split(',');
// The http workload's guest: http-echo (StarlingMonkey, a fresh instance per request) by default; http-hello
// (a small component whose instance serves many requests) tells instance churn from the serving path.
const WEB_GUEST = process.env.SOAK_WEB_GUEST ?? 'http-echo';

function copyGuests(dir) {
  mkdirSync(join(dir, 'wasm'), { recursive: true });
  const spec = {};
  for (const [file, guest] of [['sensor', 'temperature-sensor'], ['filter', 'threshold-filter'], ['echo', 'echo'], ['web', WEB_GUEST], ['cmd', 'sleeper']]) {
    copyFileSync(join(ROOT, 'guest-modules/dist', `${guest}.wasm`), join(dir, 'wasm', `${file}.wasm`));
    spec[file] = { source: `file://wasm/${file}.wasm`, sha256: createHash('sha256').update(readFileSync(join(dir, 'wasm', `${file}.wasm`))).digest('hex') };
  }
  return spec;
}

function workloads(spec, webPort) {
  const all = {
    sensor: { ...spec.sensor, timerMs: 20, config: { machine: 'press-1', minTemp: '21', maxTemp: '40' }, limits: { memoryMb: 128 } },
    filter: { ...spec.filter, subscribe: ['plant/+/temperature'], config: { threshold: '30' }, limits: { memoryMb: 128 } },
    echo: { ...spec.echo, timerMs: 10 },
    web: { ...spec.web, capabilities: { listen: { port: webPort } }, limits: { memoryMb: 128 } },
    cmd: { ...spec.cmd, args: ['20', '100'], restartPolicy: 'always' },
  };
  return ONLY ? Object.fromEntries(Object.entries(all).filter(([name]) => ONLY.includes(name))) : all;
}

const HOST_SPACES = ['new', 'old', 'code', 'large_object'];

async function scrape(port) {
  const read = await metricReader(port);
  const value = (name, workload) => read(name, workload ? { workload } : {});
  const names = ['sensor', 'filter', 'echo', 'web', 'cmd'];
  return {
    mainHeapMb: value('wasmhost_nodejs_heap_size_used_bytes') / 1048576,
    // The host's V8 spaces, committed: young-generation resizing and old-space growth look alike in its pages.
    hostSpaceMb: Object.fromEntries(HOST_SPACES.map((space) => [space, read('wasmhost_nodejs_heap_space_size_total_bytes', { space }) / 1048576])),
    workerHeapMb: Object.fromEntries(names.map((n) => [n, value('wasmhost_workload_heap_bytes', n) / 1048576])),
    // Committed: in use plus what V8 keeps free or fragmented; its own pages of the process's memory.
    workerCommittedMb: names.reduce((sum, n) => sum + value('wasmhost_workload_heap_committed_bytes', n), 0) / 1048576,
    runnerHeapMb: value('wasmhost_runner_heap_bytes') / 1048576,
    linearMb: Object.fromEntries(names.map((n) => [n, value('wasmhost_workload_memory_bytes', n) / 1048576])),
    sent: names.reduce((sum, n) => sum + value('wasmhost_messages_sent_total', n), 0),
  };
}

/** Time between reads of /proc within a sample's interval: the interval's lowest read is kept. */
const FLOOR_GAP_MS = 1000;

/**
 * The module's resident memory over one sample interval (`ms`): its lowest read, one a second, with the
 * host's and the runner's by kind of mapping at that moment; and the last read, as a single read would
 * see it. At a steady load resident memory moves in cycles shorter than the interval: V8 lets the host's
 * old generation run 8 MB past its live size before it collects (every 30-60 s under the soak's
 * traffic), an http request holds a StarlingMonkey instance's 4-12 MB for milliseconds, and the command's
 * worker lives ~2 s of every ~3. A single read lands anywhere in those cycles, and that scatter alone
 * moves an hour's slope by about a megabyte an hour (its standard error, printed). The floor of each
 * interval is what the module holds between them; growth raises it.
 */
async function residentFloor(pid, ms) {
  const end = Date.now() + ms;
  let floor;
  let last;
  for (;;) {
    const { runner, hostMb, runnerMb, allMb } = moduleRss(pid);
    last = allMb;
    // A read before the runner has started (the first seconds) is no floor of the module's.
    const lower = !floor || (runner ? !floor.runner || allMb < floor.rssMb : !floor.runner && allMb < floor.rssMb);
    if (lower) floor = { rssMb: allMb, hostRssMb: hostMb, runnerRssMb: runnerMb, runner, hostKinds: rssByKind(pid), runnerKinds: runner ? rssByKind(runner) : undefined };
    if (Date.now() + FLOOR_GAP_MS > end) break;
    await new Promise((r) => setTimeout(r, FLOOR_GAP_MS));
  }
  // V8 heap pages by their own header (the runner's `v8` kind also counts jemalloc's): all, and the runner's by isolate.
  const heaps = floor.runner ? v8Heaps(floor.runner) : [];
  const hostV8Mb = v8Heaps(pid).reduce((sum, h) => sum + h.mb, 0);
  return { ...floor, rssAtMb: last, hostV8Mb, runnerV8Mb: heaps.reduce((sum, h) => sum + h.mb, 0), isolates: heaps.length, isolateMb: heaps.map((h) => h.mb) };
}

/** The runner's mappings the table shows (rssByKind), and the host's (no wasm: its guests run in the runner). */
const KINDS = ['malloc', 'v8', 'wasm', 'code'];
const HOST_KINDS = ['malloc', 'code', 'files', 'other'];

/** Least-squares slope of y over x (x in hours): MB per hour, and its standard error. */
function fit(points) {
  const n = points.length;
  if (n < 3) return { slope: NaN, error: NaN };
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  const slope = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) / sxx;
  const residuals = points.reduce((s, p) => s + (p[1] - my - slope * (p[0] - mx)) ** 2, 0);
  return { slope, error: Math.sqrt(residuals / (n - 2) / sxx) };
}

async function soak(mode) {
  const dir = mkdtempSync(join(tmpdir(), `wh-soak-${mode}-`));
  const spec = copyGuests(dir);
  const [metricsPort, webPort] = [await freePort(), await freePort()];
  const desired = { schemaVersion: '1.0', workloads: workloads(spec, webPort) };
  let hub;
  // glibc's settings as the image sets them for the host (the runner preloads jemalloc where the system has it).
  const env = moduleEnv({ PATH: process.env.PATH, WASMHOST_DATA_DIR: dir, WASMHOST_METRICS_PORT: String(metricsPort), RuntimeLogLevel: 'warning', ...GLIBC_MALLOC_ENV });
  if (mode === 'edge') {
    hub = await EdgeHubEmulator.start();
    await hub.setDesired(desired);
    Object.assign(env, hub.env());
    hub.onOutput(() => undefined);
  } else {
    writeFileSync(join(dir, 'desired.json'), JSON.stringify(desired));
    Object.assign(env, { WASMHOST_DESIRED_FILE: join(dir, 'desired.json'), WASMHOST_ADMIN_PORT: '0' });
  }
  const child = owned(spawn(process.execPath, [join(ROOT, 'dist/cli/wasmhost.cjs'), 'start'], { env, stdio: ['ignore', 'ignore', 'inherit'] }));
  const requests = setInterval(() => void fetch(`http://127.0.0.1:${webPort}/soak`).then((r) => r.arrayBuffer()).catch(() => undefined), 1000 / RPS);
  const samples = [];
  const started = Date.now();
  try {
    while (Date.now() - started < MINUTES * 60_000) {
      const resident = await residentFloor(child.pid, SAMPLE_MS);
      const sample = await scrape(metricsPort).catch(() => undefined);
      if (!sample) continue;
      samples.push({ minute: (Date.now() - started) / 60_000, ...sample, ...resident });
      console.error(`soak ${mode}: ${JSON.stringify(samples.at(-1))}`); // progress, for a run watched as it goes
      if (hub) hub.outputs.length = 0; // the emulator keeps every message; the bench only counts
    }
  } finally {
    clearInterval(requests);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const after = samples.filter((s) => s.minute >= WARMUP_MINUTES);
  const per = (pick) => fit(after.map((s) => [s.minute / 60, pick(s)])).slope;
  const withError = (pick) => {
    const { slope, error } = fit(after.map((s) => [s.minute / 60, pick(s)]));
    return `${slope.toFixed(2)} ± ${error.toFixed(2)}`;
  };
  const workers = (s) => Object.values(s.workerHeapMb).reduce((a, b) => a + b, 0);
  const linear = (s) => Object.values(s.linearMb).reduce((a, b) => a + b, 0);
  const lines = [
    `### Soak, ${mode === 'edge' ? 'IoT Edge mode (emulator)' : 'local mode'}: ${MINUTES} min, warm-up ${WARMUP_MINUTES} min, ${RPS} http req/s`,
    '',
    '| minute | RSS MB (all) | host / runner RSS MB | host: V8 heap pages / glibc heap and arenas / code / files / other MB | runner: glibc arenas / V8 (and jemalloc) pages / wasm / code MB | runner V8 heap pages MB (isolates: each, largest first) | main heap MB | runner heap MB | worker heaps MB (sensor/filter/echo/web/cmd) | worker heaps committed MB | linear MB (sensor/filter/echo/web/cmd) | messages sent |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...samples.filter((_, i) => i % Math.max(1, Math.round(samples.length / 24)) === 0 || _ === samples.at(-1)).map((s) =>
      `| ${s.minute.toFixed(1)} | ${s.rssMb.toFixed(1)} | ${s.hostRssMb.toFixed(1)} / ${s.runnerRssMb.toFixed(1)} | ${[s.hostV8Mb, ...HOST_KINDS.map((k) => s.hostKinds[k])].map((mb) => mb.toFixed(1)).join(' / ')} | ${KINDS.map((k) => (s.runnerKinds?.[k] ?? 0).toFixed(1)).join(' / ')} | ${s.runnerV8Mb.toFixed(1)} (${s.isolates}: ${s.isolateMb.map((mb) => mb.toFixed(1)).join(' ')}) | ${s.mainHeapMb.toFixed(1)} | ${s.runnerHeapMb.toFixed(1)} | ${Object.values(s.workerHeapMb).map((v) => v.toFixed(1)).join(' / ')} | ${s.workerCommittedMb.toFixed(1)} | ${Object.values(s.linearMb).map((v) => v.toFixed(1)).join(' / ')} | ${s.sent} |`),
    '',
    `Slope after warm-up (least squares, MB per hour, ± its standard error): RSS of the module, each interval's floor, ${withError((s) => s.rssMb)}; as single reads at the intervals' ends ${withError((s) => s.rssAtMb)}. The floor by process (host process ${per((s) => s.hostRssMb).toFixed(2)}: V8 pages ${per((s) => s.hostV8Mb).toFixed(2)}, ${HOST_KINDS.map((k) => `${k} ${per((s) => s.hostKinds[k]).toFixed(2)}`).join(', ')}; runner ${per((s) => s.runnerRssMb).toFixed(2)}: ${KINDS.map((k) => `${k} ${per((s) => s.runnerKinds?.[k] ?? 0).toFixed(2)}`).join(', ')}); the runner's V8 heap pages ${per((s) => s.runnerV8Mb).toFixed(2)}; the host's part (RSS less the guests' linear memory) ${per((s) => s.rssMb - linear(s)).toFixed(2)}; the host's V8 spaces (committed) ${HOST_SPACES.map((space) => `${space} ${per((s) => s.hostSpaceMb[space]).toFixed(2)}`).join(', ')}; main heap ${per((s) => s.mainHeapMb).toFixed(2)}; runner heap (committed) ${per((s) => s.runnerHeapMb).toFixed(2)}; worker heaps together ${per(workers).toFixed(2)} (committed ${per((s) => s.workerCommittedMb).toFixed(2)}); guests' linear memory together ${per(linear).toFixed(2)} (${Object.keys(samples[0]?.linearMb ?? {}).map((n) => `${n} ${per((s) => s.linearMb[n]).toFixed(2)}`).join(', ')}).`,
    '',
  ];
  return lines.join('\n');
}

export async function soakBench() {
  const modes = (process.env.SOAK_MODES ?? 'local,edge').split(',');
  return (await Promise.all(modes.map((m) => soak(m)))).join('\n');
}
