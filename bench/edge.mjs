// IoT Edge benchmarks (issue 3): telemetry messages/s from a guest's telemetry.send to the emulator,
// against a plain Node module sending the same messages with the same SDK in the same run; and deploy
// latency from a desired patch to the new workload's first message, from the compile cache.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeHubEmulator } from '../test-support/edgehub/emulator.mjs';
import { freePort } from '../test-support/free-port.mjs';
import { median, report, settle } from './stats.mjs';
import { treeCpuSeconds } from '../test-support/process-tree.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const WINDOW_S = 3;
const WINDOWS = 3;

export const guest = (dataDir, name) => {
  copyFileSync(join(ROOT, 'guest-modules/dist', `${name}.wasm`), join(dataDir, 'wasm', `${name}.wasm`));
  return { source: `file://wasm/${name}.wasm`, sha256: createHash('sha256').update(readFileSync(join(dataDir, 'wasm', `${name}.wasm`))).digest('hex') };
};

async function until(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await settle(5);
  }
}

/** BENCH_PROFILE=<dir>: CPU profiles of the module and the baseline (every thread) go there. */
const profileFlags = () => (process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : []);

/**
 * CPU seconds (user + system) used so far, from /proc (Linux): every process of the module (the host
 * and its runner, where the guests' threads are), and the host's main thread.
 */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { all: treeCpuSeconds(pid), main: (Number(fields[11]) + Number(fields[12])) / 100 }; // utime, stime in clock ticks (USER_HZ 100)
}

/**
 * Messages per second arriving at the emulator from `workload` (median of WINDOWS windows of WINDOW_S),
 * and the sender process's CPU time per delivered message over all windows: on a 2-core machine the
 * sender shares with the emulator, CPU per message is what bounds the rate.
 */
export async function arrivalRate(hub, workload, pid) {
  let seen = 0;
  const stop = hub.onOutput((o) => o.properties.workload === workload && seen++);
  await until(`first messages from ${workload}`, () => seen > 0);
  await settle(1000); // warm up
  const rates = [];
  const first = seen;
  const cpuStart = cpuSeconds(pid);
  for (let w = 0; w < WINDOWS; w++) {
    const start = seen;
    const t = performance.now();
    await settle(WINDOW_S * 1000);
    rates.push((seen - start) / ((performance.now() - t) / 1000));
  }
  const cpuEnd = cpuSeconds(pid);
  const perMessage = (seconds) => (seconds * 1e6) / (seen - first);
  stop();
  return { rate: median(rates), cpuUsPerMessage: perMessage(cpuEnd.all - cpuStart.all), mainUsPerMessage: perMessage(cpuEnd.main - cpuStart.main) };
}

/** Below this the outbox is keeping up (about 5k records: under 2.5% of the offered messages over a run). */
const SUSTAINED_BACKLOG_BYTES = 1024 * 1024;

/** Bytes written to the workload's outbox and not yet acknowledged, from the module's /metrics. */
async function outboxBacklog(port, workload) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('wasmhost_outbox_unsent_bytes{') && l.includes(`workload="${workload}"`));
  return Number(line?.split(' ').at(-1) ?? NaN);
}

export async function edgeBench() {
  const tmp = mkdtempSync(join(tmpdir(), 'wh-edge-bench-'));
  const dataDir = join(tmp, 'data');
  mkdirSync(join(dataDir, 'wasm'), { recursive: true });
  const hub = await EdgeHubEmulator.start();
  const rows = [];
  let module;
  try {
    // Baseline first: a plain module with the same SDK.
    const baseline = spawn(process.execPath, [...profileFlags(), join(ROOT, 'bench/plain-module.mjs')], { env: { PATH: process.env.PATH, ...hub.env(), SECONDS: String(WINDOW_S * WINDOWS + 3) }, stdio: 'inherit' });
    const { rate: baselineRate, cpuUsPerMessage: baselineCpu, mainUsPerMessage: baselineMain } = await arrivalRate(hub, 'baseline', baseline.pid);
    await new Promise((r) => baseline.once('exit', r));
    hub.outputs.length = 0;

    // burst.wat sends 500 messages per tick; a tick every 15 ms offers ~33k msg/s, above what the SDK
    // carried in the baseline, so the delivered rate is the path's capacity. Telemetry goes through the
    // durable outbox; its fsync policy is the durability setting compared here.
    const burst = guest(dataDir, 'burst');
    const runModule = async (fsync, timerMs) => {
      await hub.setDesired({ schemaVersion: '1.0', workloads: { burst: { ...burst, timerMs, limits: { messagesPerSecond: 100_000 } } } });
      rmSync(join(dataDir, 'outbox'), { recursive: true, force: true }); // each run starts with an empty outbox
      hub.outputs.length = 0;
      const metricsPort = await freePort();
      module = spawn(process.execPath, [...profileFlags(), join(ROOT, 'dist/cli/wasmhost.cjs'), 'start'], {
        env: { PATH: process.env.PATH, ...hub.env(), WASMHOST_DATA_DIR: dataDir, RuntimeLogLevel: 'error', WASMHOST_OUTBOX_FSYNC: fsync, WASMHOST_METRICS_PORT: String(metricsPort) },
        stdio: 'inherit',
      });
      const { rate, cpuUsPerMessage, mainUsPerMessage } = await arrivalRate(hub, 'burst', module.pid);
      const unsent = await outboxBacklog(metricsPort, 'burst');
      module.kill('SIGTERM');
      await new Promise((r) => module.once('exit', r));
      module = undefined;
      return { rate, unsent, cpuUsPerMessage, mainUsPerMessage };
    };
    const baselineCell = `plain Node module, same SDK, 100 in flight: ${Math.round(baselineRate)}`;
    for (const fsync of ['interval', 'always', 'never']) {
      const { rate } = await runModule(fsync, 15);
      rows.push([`telemetry msg/s under overload, guest -> outbox (fsync ${fsync}) -> edgeHub (11-byte JSON, ~33k/s offered)`, `${Math.round(rate)}`, baselineCell, `${(rate / baselineRate).toFixed(2)}`]);
    }
    // Sustained throughput: the baseline never offers more than it can carry (100 in flight, closed loop);
    // a guest is open loop. The highest offered rate at which the outbox does not build up is the
    // pipeline's capacity without the guest burning CPU on messages that only queue.
    for (const timerMs of [17, 18, 19, 20, 21, 22, 24, 26, 30, 40, 50]) {
      const { rate, unsent, cpuUsPerMessage, mainUsPerMessage } = await runModule('interval', timerMs);
      if (unsent > SUSTAINED_BACKLOG_BYTES && timerMs < 50) continue;
      rows.push([`telemetry msg/s sustained (fsync interval; ${Math.round(500_000 / timerMs)}/s offered, outbox backlog ${(unsent / 1024).toFixed(0)} KB after ${WINDOW_S * WINDOWS + 1} s)`, `${Math.round(rate)}`, baselineCell, `${(rate / baselineRate).toFixed(2)}`]);
      rows.push(['module CPU per delivered message, sustained (all threads: guest, outbox, SDK)', `${cpuUsPerMessage.toFixed(1)} us`, `plain Node module: ${baselineCpu.toFixed(1)} us`, `${(cpuUsPerMessage / baselineCpu).toFixed(2)}x`]);
      rows.push(['... of it on the main thread (outbox reader, SDK)', `${mainUsPerMessage.toFixed(1)} us`, `plain Node module's main thread: ${baselineMain.toFixed(1)} us`, `${(mainUsPerMessage / baselineMain).toFixed(2)}x`]);
      break;
    }
    module = spawn(process.execPath, [join(ROOT, 'dist/cli/wasmhost.cjs'), 'start'], { env: { PATH: process.env.PATH, ...hub.env(), WASMHOST_DATA_DIR: dataDir, RuntimeLogLevel: 'error' }, stdio: 'inherit' });

    // Deploy latency: patch sent -> first message arrives; the first round compiles, the rest start from cache.
    await hub.setDesired({ schemaVersion: '1.0', workloads: {} });
    hub.outputs.length = 0;
    const echo = guest(dataDir, 'echo');
    const latencies = [];
    for (let i = 0; i < 6; i++) {
      const name = `w${i}`;
      const t = performance.now();
      await hub.patchDesired({ workloads: { [name]: { ...echo, timerMs: 10 } } });
      await until(`first message from ${name}`, () => hub.outputs.some((o) => o.properties.workload === name));
      if (i > 0) latencies.push(performance.now() - t); // the first one compiles: not "from cache"
      await hub.patchDesired({ workloads: { [name]: null } });
      await settle(300);
    }
    rows.push(['deploy latency, desired patch -> first message (from cache)', `${median(latencies).toFixed(0)} ms`, 'target 500 ms', `${(median(latencies) / 500).toFixed(2)}`]);
  } finally {
    if (module) {
      module.kill('SIGTERM');
      await new Promise((r) => module.once('exit', r));
    }
    await hub.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  return report('IoT Edge (issue 3)', rows);
}
