// IoT Edge benchmarks (issue 3): telemetry messages/s from a guest's telemetry.send to the emulator,
// against a plain Node module sending the same messages with the same SDK in the same run; and deploy
// latency from a desired patch to the new workload's first message, from the compile cache.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeHubEmulator } from '../test-support/edgehub/emulator.mjs';
import { median, report, settle } from './stats.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const WINDOW_S = 3;
const WINDOWS = 3;

const guest = (dataDir, name) => {
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

/** Median messages per second arriving at the emulator from `workload`, over WINDOWS windows of WINDOW_S. */
async function arrivalRate(hub, workload) {
  let seen = 0;
  const stop = hub.onOutput((o) => o.properties.workload === workload && seen++);
  await until(`first messages from ${workload}`, () => seen > 0);
  await settle(1000); // warm up
  const rates = [];
  for (let w = 0; w < WINDOWS; w++) {
    const start = seen;
    const t = performance.now();
    await settle(WINDOW_S * 1000);
    rates.push((seen - start) / ((performance.now() - t) / 1000));
  }
  stop();
  return median(rates);
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
    const baseline = spawn(process.execPath, [join(ROOT, 'bench/plain-module.mjs')], { env: { PATH: process.env.PATH, ...hub.env(), SECONDS: String(WINDOW_S * WINDOWS + 3) }, stdio: 'inherit' });
    const baselineRate = await arrivalRate(hub, 'baseline');
    await new Promise((r) => baseline.once('exit', r));
    hub.outputs.length = 0;

    // burst.wat sends 500 messages per tick; a tick every 15 ms offers ~33k msg/s, above what the SDK
    // carried in the baseline, so the delivered rate is the path's capacity. Telemetry goes through the
    // durable outbox; its fsync policy is the durability setting compared here.
    const burst = guest(dataDir, 'burst');
    await hub.setDesired({ schemaVersion: '1.0', workloads: { burst: { ...burst, timerMs: 15, limits: { messagesPerSecond: 100_000 } } } });
    const runModule = async (fsync) => {
      hub.outputs.length = 0;
      module = spawn(process.execPath, [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : []), join(ROOT, 'dist/cli/main.js'), 'start'], {
        env: { PATH: process.env.PATH, ...hub.env(), WASMHOST_DATA_DIR: dataDir, RuntimeLogLevel: 'error', WASMHOST_OUTBOX_FSYNC: fsync },
        stdio: 'inherit',
      });
      const rate = await arrivalRate(hub, 'burst');
      module.kill('SIGTERM');
      await new Promise((r) => module.once('exit', r));
      module = undefined;
      return rate;
    };
    for (const fsync of ['interval', 'always', 'never']) {
      const rate = await runModule(fsync);
      rows.push([`telemetry msg/s, guest -> outbox (fsync ${fsync}) -> edgeHub (11-byte JSON, ~33k/s offered)`, `${Math.round(rate)}`, `plain Node module, same SDK, 100 in flight: ${Math.round(baselineRate)}`, `${(rate / baselineRate).toFixed(2)}`]);
    }
    module = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'start'], { env: { PATH: process.env.PATH, ...hub.env(), WASMHOST_DATA_DIR: dataDir, RuntimeLogLevel: 'error' }, stdio: 'inherit' });

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
