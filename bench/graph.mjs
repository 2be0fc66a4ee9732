// Data flow graphs (issue 16): messages/s through a three-operator graph (branch -> map -> filter,
// AIO operators in one worker, an instance each) against one handler doing the same work
// (temperature-handler), both started by the same Engine in the runner process as the host starts
// them, in the same run. State writes (a durable count per message on both sides) go to /dev/shm
// when it exists, so the figure is the runtime's, not the disk's fsync.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Engine } from '../dist/runtime/index.js';
import { toGraphPlan } from '../dist/spec/index.js';
import { median, report } from './stats.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const MESSAGES = Number(process.env.GRAPH_BENCH_MESSAGES ?? 2000);
const ROUNDS = 5;
const PIPELINE = 32;
const CONFIG = { temperature_lower_bound: '-40', temperature_upper_bound: '60' };
const listener = { effects() {}, stdout() {}, stderr() {}, ended() {} };

const load = (name) => {
  const bytes = readFileSync(join(ROOT, 'guest-modules/dist', `${name}.wasm`));
  return { bytes, digest: createHash('sha256').update(bytes).digest('hex') };
};

const options = (kvDir) => ({
  workload: 'bench', memoryMb: 128, callTimeoutMs: 60_000, messagesPerSecond: 1e9, maxMessageBytes: 262144,
  config: CONFIG, env: {}, args: [], preopens: {}, allowedHosts: [], kvDir,
});

/** A reading in range (three in four) or out of it: both sides convert all and send three in four. */
const message = (i) => ({ body: Buffer.from(JSON.stringify({ temperature: { value: i % 4 === 3 ? 212 : 50 + (i % 50), unit: 'F' } })), contentType: 'application/json', properties: [] });

/** Messages a second through `instance`, PIPELINE calls in flight (as the supervisor delivers them). */
async function rate(instance) {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < MESSAGES) await instance.call({ fn: 'onMessage', source: 'topic/plant/p1', msg: message(next++) });
  };
  await Promise.all(Array.from({ length: PIPELINE }, lane));
  return MESSAGES / ((performance.now() - started) / 1000);
}

export async function graphBench() {
  const dir = mkdtempSync(join(tmpdir(), 'wh-graph-bench-'));
  const state = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'wh-graph-state-'));
  const engine = new Engine(join(dir, 'compiled'));
  try {
    const temperature = load('graph-temperature');
    const operators = await engine.compile(temperature.bytes, temperature.digest);
    const handlerBytes = load('temperature-handler');
    const handler = await engine.compile(handlerBytes.bytes, handlerBytes.digest);
    const definition = parseYaml(readFileSync(join(ROOT, 'test-support/graphs/bench-three.yaml'), 'utf8'));
    const plan = toGraphPlan(definition, CONFIG, 'out', () => 0);
    const graphRates = [];
    const handlerRates = [];
    for (let round = 0; round < ROUNDS; round++) {
      const g = await engine.startGraph([operators], plan, 'f'.repeat(64), options(join(state, `g${round}`)), listener);
      await g.call({ fn: 'init' });
      graphRates.push(await rate(g));
      await g.stop();
      const h = await engine.start(handler, options(join(state, `h${round}`)), listener);
      await h.call({ fn: 'init' });
      handlerRates.push(await rate(h));
      await h.stop();
    }
    const g = median(graphRates);
    const h = median(handlerRates);
    return report(`Data flow graph: ${MESSAGES} messages a round, ${ROUNDS} rounds, ${PIPELINE} in flight`, [
      ['messages/s, branch -> map -> filter graph vs one handler doing the same work', `${g.toFixed(0)}/s`, `${h.toFixed(0)}/s`, `${(g / h).toFixed(2)}x`],
      ['time per message', `${(1000 / g).toFixed(3)} ms`, `${(1000 / h).toFixed(3)} ms`, `${(h / g).toFixed(2)}x`],
    ]);
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
}
