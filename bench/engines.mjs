// JavaScript engines (issue 15): the same TypeScript guests built with QuickJS (componentize-qjs) and
// with SpiderMonkey (componentize-js), then run by the same host in the same run: component size,
// build time, cold compile (transpile), start from cache, memory per idle workload, export calls/s,
// and a typical handler's work (temperature-handler: parse a reading, convert it, count it in kv,
// filter, send). The SpiderMonkey figures are the baseline column.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleEntry, componentizeJs } from '../dist/devloop/index.js';
import { Engine } from '../dist/runtime/index.js';
import { coldCompileMs, idleMemoryMb, startFromCacheMs } from './runtime.mjs';
import { median, report } from './stats.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const ROUNDS = 5;
const listener = { effects() {}, stdout() {}, stderr() {}, ended() {} };
const options = (kvDir) => ({
  workload: 'bench', memoryMb: 128, callTimeoutMs: 60_000, messagesPerSecond: 1e9, maxMessageBytes: 262144,
  config: { machine: 'm', minTemp: '21', maxTemp: '40', temperature_upper_bound: '60' }, env: {}, args: [], preopens: {}, allowedHosts: [], kvDir,
});

async function build(engine, guest) {
  const project = join(ROOT, 'guest-modules', guest, 'src', 'index.ts');
  const js = await bundleEntry(existsSync(project) ? project : join(ROOT, 'guest-modules', guest, 'index.ts'), [ROOT], ROOT);
  const started = performance.now();
  const bytes = await componentizeJs(engine, { js, witPath: join(ROOT, 'wit'), world: 'workload', http: false, scratchDir: tmpdir(), toolRoots: [ROOT] });
  return { bytes, digest: createHash('sha256').update(bytes).digest('hex'), buildMs: performance.now() - started };
}

/** Calls a second, 500 in flight; `call(i)` makes the i-th call. */
async function rate(engine, compiled, kvDir, count, call) {
  const instance = await engine.start(compiled, options(kvDir), listener);
  await instance.call({ fn: 'init' });
  const rates = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    for (let done = 0; done < count; done += 500) await Promise.all(Array.from({ length: Math.min(500, count - done) }, (_, i) => instance.call(call(done + i))));
    rates.push(count / ((performance.now() - t) / 1000));
  }
  await instance.stop();
  return median(rates);
}

const reading = (i) => ({ fn: 'onMessage', source: 'topic/plant/p1', msg: { body: Buffer.from(JSON.stringify({ temperature: { value: 50 + (i % 50), unit: 'F' } })), contentType: 'application/json', properties: [] } });

export async function enginesBench() {
  const dir = mkdtempSync(join(tmpdir(), 'wh-engines-'));
  const state = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'wh-engines-state-'));
  const engine = new Engine(join(dir, 'compiled'));
  const figures = {};
  try {
    for (const js of ['quickjs', 'spidermonkey']) {
      const sensor = await build(js, 'temperature-sensor');
      const handler = await build(js, 'temperature-handler');
      const sensorCompiled = await engine.compile(sensor.bytes, sensor.digest);
      const handlerCompiled = await engine.compile(handler.bytes, handler.digest);
      figures[js] = {
        sizeMb: handler.bytes.byteLength / 1048576,
        buildMs: handler.buildMs,
        coldMs: await coldCompileMs(handler),
        startMs: await startFromCacheMs(engine, sensorCompiled, options()),
        idleMb: await idleMemoryMb(engine, sensorCompiled, 5, options()),
        calls: await rate(engine, sensorCompiled, undefined, 2000, () => ({ fn: 'onMethod', name: 'reset', payload: '' })),
        handlerWork: await rate(engine, handlerCompiled, join(state, js), 2000, reading),
      };
    }
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
  const q = figures.quickjs;
  const s = figures.spidermonkey;
  const row = (what, key, unit, digits, higherIsBetter = false) => [what, `${q[key].toFixed(digits)}${unit}`, `SpiderMonkey ${s[key].toFixed(digits)}${unit}`, `${(higherIsBetter ? q[key] / s[key] : q[key] / s[key]).toFixed(2)}x`];
  return report('JavaScript engines: QuickJS (componentize-qjs) against SpiderMonkey (componentize-js), same guests', [
    row('component size (temperature-handler)', 'sizeMb', ' MB', 2),
    row('build (componentize)', 'buildMs', ' ms', 0),
    row('cold compile (transpile) in the host', 'coldMs', ' ms', 0),
    row('start from cache + init (temperature-sensor)', 'startMs', ' ms', 1),
    row('memory per idle workload (temperature-sensor, 5 workloads)', 'idleMb', ' MB', 1),
    row('export calls/s (on-method reset)', 'calls', '/s', 0, true),
    row('handler work: messages/s (parse, convert, kv count, filter, send)', 'handlerWork', '/s', 0, true),
  ]);
}
