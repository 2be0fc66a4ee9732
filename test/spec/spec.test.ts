import { validateDesired, diffSpecs, formatProblem } from '../../dist/spec/index.js';

const pin = 'a'.repeat(64);
const nested = (depth: number): Record<string, unknown> => (depth === 0 ? {} : { n: nested(depth - 1) });
const doc = (workloads: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ schemaVersion: '1.0', workloads, ...extra });

describe('validateDesired', () => {
  it('fills every default for a minimal workload', () => {
    const result = validateDesired(doc({ f: { source: 'file://f.wasm', sha256: pin } }), { allowUnpinned: false });
    expect(result.errors).toEqual([]);
    expect(result.workloads.get('f')).toEqual({
      name: 'f', source: 'file://f.wasm', sha256: pin, enabled: true, config: {}, env: {}, args: [], inputs: [], subscribe: [],
      timerMs: undefined, restartPolicy: 'always',
      limits: { memoryMb: 64, callTimeoutMs: 2000, messagesPerSecond: 100, maxMessageBytes: 262144 }, capabilities: {},
    });
  });

  it('accepts a sha256: prefix and strips it', () => {
    const result = validateDesired(doc({ f: { source: 'file://f.wasm', sha256: `sha256:${pin}` } }), { allowUnpinned: false });
    expect(result.workloads.get('f')?.sha256).toBe(pin);
  });

  it('leaves out one bad workload and keeps the others', () => {
    const result = validateDesired(
      doc({
        good: { source: 'file://g.wasm', sha256: pin },
        bad: { source: 'file://b.wasm', sha256: pin, limits: { memoryMb: 4096 }, restartPolicy: 'sometimes' },
      }),
      { allowUnpinned: false },
    );
    expect([...result.workloads.keys()]).toEqual(['good']);
    expect(result.documentInvalid).toBe(false);
    const paths = result.errors.map((e) => e.path).sort();
    expect(paths).toEqual(['workloads.bad.limits.memoryMb', 'workloads.bad.restartPolicy']);
    expect(result.errors.every((e) => e.workload === 'bad')).toBe(true);
  });

  it('gives a listen port to one workload only: the first by name keeps it', () => {
    const web = (port: number) => ({ source: 'file://w.wasm', sha256: pin, capabilities: { listen: { port } } });
    const result = validateDesired(doc({ b: web(8080), a: web(8080), c: web(8081) }), { allowUnpinned: false });
    expect([...result.workloads.keys()].sort()).toEqual(['a', 'c']);
    expect(result.errors.map(formatProblem)).toEqual(["workloads.b.capabilities.listen.port: port 8080 is already workload a's"]);
  });

  it('requires sha256 unless unpinned sources are allowed', () => {
    const unpinned = doc({ f: { source: 'file://f.wasm' } });
    expect(validateDesired(unpinned, { allowUnpinned: false }).errors.map(formatProblem)).toEqual([
      expect.stringContaining('workloads.f.sha256: sha256 is required'),
    ]);
    expect(validateDesired(unpinned, { allowUnpinned: true }).workloads.has('f')).toBe(true);
  });

  it('reports unknown keys as warnings, not errors', () => {
    const result = validateDesired(doc({ f: { source: 'file://f.wasm', sha256: pin, colour: 'red', limits: { cpu: 2 } } }, { extra: 1 }), { allowUnpinned: false });
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((w) => w.path).sort()).toEqual(['extra', 'workloads.f.colour', 'workloads.f.limits.cpu']);
    expect(result.workloads.get('f')).not.toHaveProperty('colour');
  });

  it('ignores twin metadata and null (deleted) workloads', () => {
    const result = validateDesired(doc({ gone: null, f: { source: 'file://f.wasm', sha256: pin } }, { $version: 7, $metadata: {} }), { allowUnpinned: false });
    expect([...result.workloads.keys()]).toEqual(['f']);
    expect(result.warnings).toEqual([]);
  });

  it.each([
    ['not an object', [], 'must be a JSON object'],
    ['a wrong schemaVersion', { schemaVersion: '2.0', workloads: {} }, 'schemaVersion must be "1.0"'],
    ['workloads as an array', { schemaVersion: '1.0', workloads: [] }, 'keyed by workload name'],
    ['over 32 KB', doc({ f: { source: 'file://f.wasm', sha256: pin, config: { big: 'x'.repeat(4000), b2: 'x'.repeat(4000), b3: 'x'.repeat(4000), b4: 'x'.repeat(4000), b5: 'x'.repeat(4000), b6: 'x'.repeat(4000), b7: 'x'.repeat(4000), b8: 'x'.repeat(4000), b9: 'x'.repeat(4000) } } }), 'limit is 32768'],
    ['nested too deep', doc({ f: nested(10) }), 'nested'],
  ])('rejects a document that is %s', (_what, input, message) => {
    const result = validateDesired(input, { allowUnpinned: false });
    expect(result.documentInvalid).toBe(true);
    expect(result.workloads.size).toBe(0);
    expect(result.errors[0]?.message).toContain(message);
  });

  it.each([
    ['a name with a dot', { 'a.b': { source: 'file://x' } }, 'invalid workload name'],
    ['a config key with $', { f: { source: 'file://x', sha256: pin, config: { $x: '1' } } }, 'keys may not'],
    ['a bad topic filter', { f: { source: 'file://x', sha256: pin, subscribe: ['a/#/b'] } }, 'whole level'],
    ['a bad allowed host', { f: { source: 'file://x', sha256: pin, capabilities: { http: { allowedHosts: ['http://x'] } } } }, 'host:port'],
    ['a short sha256', { f: { source: 'file://x', sha256: 'abc' } }, '64 lowercase hex'],
  ])('rejects a workload with %s', (_what, workloads, message) => {
    const result = validateDesired(doc(workloads), { allowUnpinned: false });
    expect(result.workloads.size).toBe(0);
    expect(result.errors.map((e) => e.message).join(' ')).toContain(message);
  });
});

describe('diffSpecs', () => {
  const specs = (workloads: Record<string, unknown>) => validateDesired(doc(workloads), { allowUnpinned: true }).workloads;

  it('classifies added, removed, changed and unchanged by value', () => {
    const before = specs({ a: { source: 'file://a' }, b: { source: 'file://b' }, c: { source: 'file://c', config: { x: '1', y: '2' } } });
    const after = specs({ b: { source: 'file://b', config: { k: 'v' } }, c: { source: 'file://c', config: { y: '2', x: '1' } }, d: { source: 'file://d' } });
    expect(diffSpecs(after, before)).toEqual({ added: ['d'], removed: ['a'], changed: ['b'], unchanged: ['c'] });
  });

  it('does not count unknown keys as a change', () => {
    expect(diffSpecs(specs({ a: { source: 'file://a', note: 'x' } }), specs({ a: { source: 'file://a' } })).unchanged).toEqual(['a']);
  });
});
