// The graph side of the runtime: operator instances in one worker (the runner), driven as the
// supervisor drives them, with the operators built from AIO's WIT; and the state store, clock and
// metric bounds the host serves them, checked directly.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Engine, type Effect, type Fatal, type StartOptions, type WorkloadInstance } from '../../dist/runtime/index.js';
import { toGraphPlan, type GraphDefinition } from '../../dist/spec/index.js';
import { KvStore } from '../../dist/runtime/worker/kv-store.js';
import { stateStoreImports } from '../../dist/runtime/worker/graph/state-store.js';
import { HybridClock } from '../../dist/runtime/worker/graph/hlc.js';
import { GraphMeter, MAX_OPERATOR_SERIES } from '../../dist/runtime/worker/graph/operator-metrics.js';
import { guestBytes, ROOT, tempDir, waitFor } from '../helpers.js';

const tmp = tempDir();
const engine = new Engine(`${tmp.path}/compiled`);
afterAll(async () => {
  await engine.close();
  tmp.cleanup();
});

const definition = (name: string) => parseYaml(readFileSync(join(ROOT, 'test-support', 'graphs', `${name}.yaml`), 'utf8')) as GraphDefinition;
const GUESTS: Record<string, string> = { 'temperature:1.0.0': 'graph-temperature', 'window:1.0.0': 'graph-window', 'bad:1.0.0': 'bad-map' };
const reading = (value: number) => ({ body: Buffer.from(JSON.stringify({ temperature: { value, unit: 'F' } })), contentType: 'application/json', properties: [] as Array<[string, string]> });

async function startGraph(name: string | GraphDefinition, config: Record<string, string>, over: Partial<StartOptions> = {}) {
  const def = typeof name === 'string' ? definition(name) : name;
  def.moduleConfigurations ??= [];
  const modules = [...new Set(def.operations.flatMap((op) => (op.module ? [op.module] : [])))];
  const components = await Promise.all(modules.map((m) => {
    const { bytes, digest } = guestBytes(GUESTS[m]!);
    return engine.compile(bytes, digest);
  }));
  const plan = toGraphPlan(def, config, 'out', (m) => modules.indexOf(m));
  const effects: Effect[] = [];
  const ended: Array<Fatal | undefined> = [];
  const instance: WorkloadInstance = await engine.startGraph(components, plan, 'f'.repeat(64), {
    workload: typeof name === 'string' ? name : 'inline', memoryMb: 64, callTimeoutMs: 2000, messagesPerSecond: 1000, maxMessageBytes: 4096,
    config, env: {}, args: [], preopens: {}, allowedHosts: [], kvDir: join(tmp.path, `kv-${typeof name === 'string' ? name : 'inline'}`), ...over,
  }, { effects: (list) => effects.push(...list), stdout: () => undefined, stderr: () => undefined, ended: (fatal) => ended.push(fatal) });
  await instance.call({ fn: 'init' });
  // Counts leave the worker at most every 250 ms after a call (later on a loaded machine): wait until as
  // many as expected have come, then what has come is the count.
  const totals = () => {
    const total = new Map<string, number>();
    for (const e of effects) if (e.type === 'graph-metrics') for (const [node, outcome, n] of e.nodes) total.set(`${node} ${outcome}`, (total.get(`${node} ${outcome}`) ?? 0) + n);
    return total;
  };
  const counted = async (key: string, expected: number) => {
    await waitFor(`${expected} counts of ${key}`, () => (totals().get(key) ?? 0) >= expected, 10_000);
    return totals().get(key);
  };
  const logs = () => effects.flatMap((e) => (e.type === 'log' ? [e.message] : []));
  const sent = () => effects.flatMap((e) => (e.type === 'telemetry' ? [JSON.parse(Buffer.from(e.msg.body).toString())] : []));
  return { instance, effects, ended, counted, logs, sent };
}

describe('graph runtime', () => {
  it('an operator err fails that message only: counted, logged, and the graph serves on', async () => {
    const g = await startGraph('hostile', { mode: 'e' });
    await g.instance.call({ fn: 'onMessage', source: 'topic/x', msg: { body: Buffer.from('{"other":1}'), contentType: undefined, properties: [] } });
    await g.instance.call({ fn: 'onMessage', source: 'topic/x', msg: reading(212) });
    expect(await g.counted('module-bad/map error', 1)).toBe(1);
    expect(g.logs()).toContainEqual(expect.stringMatching(/graph node module-bad\/map: message failed: refused/));
    expect(g.sent()).toEqual([{ temperature: { value: 100, unit: 'C', seq: 1 } }]);
    expect(g.ended).toEqual([]);
    await g.instance.stop();
  });

  it('an init returning false fails the start with the node named', async () => {
    const g = startGraph('hostile', { mode: 'f' });
    await expect(g).rejects.toThrow(/init of graph node module-bad\/map returned false/);
  });

  it('windows close when the clock passes them, and a delay may not push a window past an hour', async () => {
    // Windows are aligned to multiples of window_ms. Start early in one and send two readings; on a loaded
    // machine the second may land in the next window, so that attempt proves nothing and is tried again.
    let g = await startGraph('temperature-window', { window_ms: '2000' });
    let end = 0;
    for (let attempt = 0; ; attempt++) {
      while (Date.now() % 2000 > 200) await new Promise((r) => setTimeout(r, 20));
      end = Math.ceil(Date.now() / 2000) * 2000;
      for (const value of [50, 68]) await g.instance.call({ fn: 'onMessage', source: 'topic/t', msg: reading(value) });
      if (Date.now() < end || attempt === 4) break;
      await g.instance.stop();
      g = await startGraph('temperature-window', { window_ms: '2000' });
    }
    expect(Date.now()).toBeLessThan(end); // both readings landed in one window
    await g.instance.call({ fn: 'onTimer' });
    if (Date.now() < end) expect(g.sent()).toEqual([]); // the window is still open
    await new Promise((r) => setTimeout(r, end - Date.now() + 50));
    await g.instance.call({ fn: 'onTimer' });
    expect(g.sent()).toEqual([{ temperature: { count: 2, min: 10, max: 20, average: 15, last: 20, unit: 'C' } }]);
    await g.instance.stop();

    // Windows of about three hours, sized so that the current one began at most n ms ago (n = now / 3 h,
    // ~3 minutes): its end is hours ahead at any time of day (windows of a day end < 1 h ahead after 23:00).
    const n = Math.floor(Date.now() / (3 * 3_600_000));
    const far = await startGraph('temperature-window', { window_ms: String(Math.floor(Date.now() / n)) });
    await far.instance.call({ fn: 'onMessage', source: 'topic/t', msg: reading(50) });
    expect(await far.counted('module-window/delay error', 1)).toBe(1);
    expect(far.logs()).toContainEqual(expect.stringMatching(/more than 60 minutes ahead/));
    await far.instance.stop();
  });

  it('one state store serves every node: what one node writes, the next reads', async () => {
    // Two map nodes of the same module, one after the other, each counting in the same key ("converted").
    const twoMaps = {
      moduleConfigurations: [],
      operations: [
        { operationType: 'source', name: 'source' },
        { operationType: 'map', name: 'first', module: 'temperature:1.0.0' },
        { operationType: 'map', name: 'second', module: 'temperature:1.0.0' },
        { operationType: 'sink', name: 'sink' },
      ],
      connections: [
        { from: { name: 'source' }, to: { name: 'first' } },
        { from: { name: 'first' }, to: { name: 'second' } },
        { from: { name: 'second' }, to: { name: 'sink' } },
      ],
    } as unknown as GraphDefinition;
    const g = await startGraph(twoMaps, {});
    for (const value of [50, 68]) await g.instance.call({ fn: 'onMessage', source: 'topic/t', msg: reading(value) });
    expect(g.sent().map((m) => m.temperature.seq)).toEqual([2, 4]); // 1 and 3 were the first node's
    await g.instance.stop();
  });

  it('a sink over the workload\'s message budget fails those messages, not the workload', async () => {
    const g = await startGraph('branch-route', {}, { messagesPerSecond: 2 });
    for (let i = 0; i < 5; i++) await g.instance.call({ fn: 'onMessage', source: 'topic/t', msg: reading(32) });
    expect(g.sent()).toHaveLength(2);
    expect(await g.counted('sink error', 3)).toBe(3);
    expect(g.ended).toEqual([]);
    await g.instance.stop();
  });
});

describe('state store (wasm-graph:processor state-store on the workload kv)', () => {
  const enc = (s: string) => Buffer.from(s);
  const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());
  const setup = () => {
    let now = 1_000_000;
    const kvDir = join(tmp.path, `state-${Math.random()}`);
    const clock = new HybridClock('node-a', () => now);
    const open = () => stateStoreImports(new KvStore(kvDir), clock, () => now) as any;
    return { store: open(), reopen: open, advance: (ms: number) => (now += ms), clock };
  };
  const opts = (conditions = 'unconditional', expires?: { seconds: bigint; nanos: number }) => ({ conditions, expires });

  it('versions writes with the clock and keeps values across a reopen (a restart)', () => {
    const { store, reopen } = setup();
    const first = store.set(enc('k'), enc('1'), undefined, undefined, opts());
    const second = store.set(enc('k'), enc('2'), undefined, undefined, opts());
    expect(first.response).toBe(true);
    expect(second.version.counter).toBe(first.version.counter + 1n); // same millisecond: the counter orders them
    const read = reopen().get(enc('k'), undefined);
    expect(text(read.response)).toBe('2');
    expect(read.version).toEqual(second.version);
  });

  it('honours set conditions', () => {
    const { store } = setup();
    expect(store.set(enc('k'), enc('a'), undefined, undefined, opts('only-if-does-not-exist')).response).toBe(true);
    expect(store.set(enc('k'), enc('b'), undefined, undefined, opts('only-if-does-not-exist')).response).toBe(false);
    expect(store.set(enc('k'), enc('b'), undefined, undefined, opts('only-if-equal-or-does-not-exist')).response).toBe(false);
    expect(store.set(enc('k'), enc('a'), undefined, undefined, opts('only-if-equal-or-does-not-exist')).response).toBe(true);
    expect(text(store.get(enc('k'), undefined).response)).toBe('a');
  });

  it('expires keys', () => {
    const { store, advance } = setup();
    store.set(enc('k'), enc('v'), undefined, undefined, opts('unconditional', { seconds: 2n, nanos: 0 }));
    advance(1999);
    expect(text(store.get(enc('k'), undefined).response)).toBe('v');
    advance(2);
    expect(store.get(enc('k'), undefined).response).toBeUndefined();
    expect(store.set(enc('k'), enc('new'), undefined, undefined, opts('only-if-does-not-exist')).response).toBe(true);
  });

  it('keeps a stale writer out with fencing tokens', () => {
    const { store, clock } = setup();
    const older = clock.now();
    const newer = clock.now();
    expect(store.set(enc('k'), enc('a'), undefined, newer, opts()).response).toBe(true);
    expect(() => store.set(enc('k'), enc('b'), undefined, older, opts())).toThrow(expect.objectContaining({ tag: 'request-error', val: expect.stringMatching(/older/) }));
    expect(() => store.set(enc('k'), enc('b'), undefined, undefined, opts())).toThrow(expect.objectContaining({ tag: 'request-error', val: expect.stringMatching(/fencing token is required/) }));
    expect(() => store.del(enc('k'), older, undefined)).toThrow(expect.objectContaining({ tag: 'request-error' }));
    expect(store.set(enc('k'), enc('c'), undefined, newer, opts()).response).toBe(true);
    expect(store.del(enc('k'), clock.now(), undefined).response).toBe(1n);
  });

  it('deletes, and deletes only if the value matches (vdel)', () => {
    const { store } = setup();
    expect(store.del(enc('none'), undefined, undefined).response).toBe(0n);
    store.set(enc('k'), enc('v'), undefined, undefined, opts());
    expect(store.vdel(enc('k'), enc('other'), undefined, undefined).response).toBe(-1n);
    expect(store.vdel(enc('k'), enc('v'), undefined, undefined).response).toBe(1n);
    expect(store.get(enc('k'), undefined).response).toBeUndefined();
  });

  it('refuses oversized keys and values with a request-error', () => {
    const { store } = setup();
    expect(() => store.get(new Uint8Array(181), undefined)).toThrow(expect.objectContaining({ tag: 'request-error' }));
    expect(() => store.set(enc('k'), new Uint8Array(64 * 1024), undefined, undefined, opts())).toThrow(expect.objectContaining({ tag: 'request-error' }));
  });
});

describe('operator metrics bounds', () => {
  it('refuse reserved labels, bad names and series past the limit', () => {
    const m = new GraphMeter().imports('n') as any;
    const one = { tag: 'u64', val: 1n };
    expect(() => m.addToCounter('requests', one, [{ key: 'workload', value: 'x' }])).toThrow(expect.objectContaining({ tag: 'incompatible-type', val: expect.stringMatching(/set by the host/) }));
    expect(() => m.addToCounter('bad name', one, undefined)).toThrow(expect.objectContaining({ tag: 'incompatible-type' }));
    m.addToCounter('requests', one, undefined);
    expect(() => m.recordToHistogram('requests', { tag: 'f64', val: 1 }, undefined)).toThrow(expect.objectContaining({ val: 'requests is a counter' }));
    for (let i = 1; i < MAX_OPERATOR_SERIES; i++) m.addToCounter('requests', one, [{ key: 'i', value: String(i) }]);
    expect(() => m.addToCounter('requests', one, [{ key: 'i', value: 'one too many' }])).toThrow(expect.objectContaining({ val: expect.stringMatching(/limit/) }));
    m.addToCounter('requests', one, [{ key: 'i', value: '1' }]); // an existing series still counts
  });
});
