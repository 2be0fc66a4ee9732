import { mergePatch } from '../../dist/spec/index.js';

describe('mergePatch (IoT Hub twin semantics)', () => {
  it('merges objects, deletes on null, replaces arrays and scalars', () => {
    const base = { schemaVersion: '1.0', workloads: { a: { subscribe: ['x', 'y'], config: { k: '1', j: '2' } }, b: { source: 's' } } };
    const merged = mergePatch(base, { workloads: { a: { subscribe: ['z'], config: { j: null } }, b: null, c: { source: 't' } } });
    expect(merged).toEqual({ schemaVersion: '1.0', workloads: { a: { subscribe: ['z'], config: { k: '1' } }, c: { source: 't' } } });
    expect(base.workloads.a.subscribe).toEqual(['x', 'y']); // pure
  });
});
