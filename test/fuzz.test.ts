// Bounded fuzzing of what the outside hands the host: thousands of mutated desired documents, patches
// and method payloads (wrong types, huge strings, deep nesting, unicode, prototype keys) through the
// code the adapters use: the desired-state owner (merge, validate, plan) and the method dispatcher.
// Nothing may throw past them; every refusal is a coded error or a spec problem with a path.
import { DesiredState } from '../dist/desired/index.js';
import { createMethodHandlers, dispatchMethod } from '../dist/methods/index.js';
import { createLogger } from '../dist/ops/index.js';
import { diffSpecs, type ValidatedDesired, type WorkloadSpec } from '../dist/spec/index.js';
import { plan } from '../dist/supervisor/index.js';

const ITERATIONS = Number(process.env.WASMHOST_FUZZ_ITERATIONS ?? 3000);

/** mulberry32: a seeded generator, so a failure can be replayed (the seed is in the test name). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20261130;
const random = rng(SEED);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const KEYS = ['source', 'sha256', 'enabled', 'config', 'env', 'args', 'inputs', 'subscribe', 'timerMs', 'restartPolicy', 'limits', 'capabilities', 'memoryMb', 'callTimeoutMs', 'storage', 'quotaMb', 'http', 'allowedHosts', 'listen', 'port', 'name', 'method', 'payload', 'items', 'id', 'filter', 'regex', 'tail', '__proto__', 'constructor', 'prototype', '$version', 'workloads', 'schemaVersion', 'ü名前', '', 'a.b', 'a b', '#'];

function junk(depth = 0): unknown {
  switch (Math.floor(random() * 14)) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return Math.floor(random() * 2 ** 53) * (random() < 0.5 ? -1 : 1);
    case 3: return random() * 1e308;
    case 4: return 'x'.repeat(Math.floor(random() * 70_000));
    case 5: return '\u0000\uFFFF\uD800 é 名 🙂'.repeat(Math.floor(random() * 50));
    case 6: return pick(['file://echo.wasm', 'oci://r.example/a:1', 'https://h/x.wasm?sig=s', 'http://h/x', 'ftp://x', '../../etc/passwd', 'file:///etc/passwd', '%E0%A4%A', '.*', '(a+)+$', '(?<=x)']);
    case 7: { let v: unknown = 1; for (let i = 0; i < Math.floor(random() * 5000); i++) v = [v]; return v; }
    case 8: { let v: unknown = 1; for (let i = 0; i < Math.floor(random() * 50); i++) v = { [pick(KEYS)]: v }; return v; }
    case 9: return depth > 3 ? 0 : Array.from({ length: Math.floor(random() * 5) }, () => junk(depth + 1));
    case 10: return depth > 3 ? {} : Object.fromEntries(Array.from({ length: Math.floor(random() * 6) }, () => [pick(KEYS), junk(depth + 1)]));
    case 11: return JSON.parse('{"__proto__":{"polluted":true}}');
    case 12: return pick(['always', 'never', 'on-failure', '1.0', 'Infinity', 'NaN', '-1', '0']);
    default: return Math.floor(random() * 100_000) - 10;
  }
}

/** Replaces, deletes or adds one node somewhere in a copy of `value`. */
function mutate(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || random() < 0.2) return junk();
  const copy: Record<string, unknown> = Array.isArray(value) ? ([...value] as unknown as Record<string, unknown>) : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const roll = random();
  if (roll < 0.15 && keys.length) delete copy[pick(keys)];
  else if (roll < 0.3) copy[pick(KEYS)] = junk();
  else if (keys.length) {
    const key = pick(keys);
    copy[key] = mutate(copy[key]);
  }
  return copy;
}

const good = {
  schemaVersion: '1.0',
  workloads: {
    filter: { source: 'file://filter.wasm', enabled: true, config: { threshold: '25' }, env: { A: '1' }, inputs: ['sensors'], subscribe: ['plant/+/t'], timerMs: 5000, restartPolicy: 'always', limits: { memoryMb: 64, callTimeoutMs: 2000, messagesPerSecond: 100, maxMessageBytes: 262144 }, capabilities: { storage: { quotaMb: 50 }, http: { allowedHosts: ['api.example.com:443'] }, listen: { port: 8080 } } },
    other: { source: 'oci://r.example/wasm/o:1.0' },
  },
};

function checkValidated(validated: ValidatedDesired): void {
  for (const problem of [...validated.errors, ...validated.warnings]) {
    expect(typeof problem.path).toBe('string');
    expect(typeof problem.message).toBe('string');
    expect(problem.message.length).toBeGreaterThan(0);
  }
  for (const [name, spec] of validated.workloads) expect(spec.name).toBe(name);
}

it(`desired documents and patches: ${ITERATIONS} of each, seed ${SEED}, nothing escapes the owner`, async () => {
  let current: ReadonlyMap<string, WorkloadSpec> = new Map();
  let applied = 0;
  const state = new DesiredState({
    allowUnpinned: true,
    log: createLogger('error', () => undefined),
    reread: () => undefined,
    apply: async (validated) => {
      checkValidated(validated);
      if (!validated.documentInvalid) {
        plan(diffSpecs(validated.workloads, current), validated.workloads, new Set(validated.errors.flatMap((e) => (e.workload ? [e.workload] : []))));
        current = validated.workloads;
      }
      applied++;
      return { errors: validated.errors.map((e) => e.message) };
    },
  });
  let version = 1;
  for (let i = 0; i < ITERATIONS; i++) {
    await state.replace(mutate(mutate(good)), version++);
    const patch = mutate({ workloads: { filter: { config: { threshold: '30' } } } });
    state.patch({ ...(patch && typeof patch === 'object' ? patch : { junk: patch }), $version: version++ });
    await state.settled();
    expect(Object.getPrototypeOf({}).polluted).toBeUndefined();
  }
  expect(applied).toBe(ITERATIONS * 2);
}, 60_000);

it(`method payloads: ${ITERATIONS} per method, seed ${SEED}, every refusal coded`, async () => {
  const supervisor = {
    list: () => [],
    listWithUsage: () => [],
    names: () => ['filter'],
    logs: () => [{ time: Date.now(), level: 'info', text: 'x'.repeat(99) }],
    restart: async () => undefined,
    stop: async () => undefined,
    start: async () => undefined,
    invoke: async (_n: string, _m: string, payload: string) => payload,
  };
  const handlers = createMethodHandlers(supervisor as never, { version: 'fuzz', startedAt: Date.now() });
  const bases: Record<string, unknown> = {
    ping: null, listWorkloads: null, restartWorkload: { name: 'filter' }, stopWorkload: { name: 'filter' }, startWorkload: { name: 'filter' },
    invokeWorkload: { name: 'filter', method: 'stats', payload: { a: 1 } },
    getWorkloadLogs: { schemaVersion: '1.0', items: [{ id: 'filter', filter: { tail: 10, since: '1h', loglevel: 6, regex: 'x+' } }], encoding: 'none', contentType: 'json' },
  };
  for (const [name, base] of Object.entries(bases)) {
    for (let i = 0; i < ITERATIONS / 3; i++) {
      const response = await dispatchMethod(handlers, name, mutate(base));
      expect([200, 400, 404, 409]).toContain(response.status); // 500 is for host faults only: none here
      if (response.status >= 400) expect(response.payload).toMatchObject({ code: expect.stringMatching(/^WH_ERR_/), message: expect.any(String) });
      expect(Buffer.byteLength(JSON.stringify(response.payload) ?? '')).toBeLessThanOrEqual(128 * 1024);
    }
  }
  expect(await dispatchMethod(handlers, 'no-such-method', mutate(null))).toMatchObject({ status: 404, payload: { code: 'WH_ERR_METHOD_UNKNOWN' } });
}, 60_000);
