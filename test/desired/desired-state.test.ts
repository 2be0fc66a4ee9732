// The desired-state owner, table by table: what each sequence of reads and patches applies, reports
// and saves. The supervisor is replaced by a recorder of what it was asked to apply.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DesiredState } from '../../dist/desired/index.js';
import { createLogger } from '../../dist/ops/index.js';
import type { ValidatedDesired } from '../../dist/spec/index.js';
import { tempDir } from '../helpers.js';

type Step =
  | { read: Record<string, unknown>; version: number }
  | { readStarted: true }
  | { readFailed: true }
  | { patch: Record<string, unknown> };

const w = (source: string) => ({ source: `file://${source}.wasm` });
const doc = (workloads: Record<string, unknown>) => ({ schemaVersion: '1.0', workloads });

function run(steps: Step[], options: { slowApply?: (version: number | null) => number } = {}) {
  const applied: Array<{ version: number | null; workloads: string[] }> = [];
  let rereads = 0;
  const state = new DesiredState({
    allowUnpinned: true,
    log: createLogger('error', () => undefined),
    reread: () => void rereads++,
    apply: async (validated: ValidatedDesired, version: number | null) => {
      const delay = options.slowApply?.(version) ?? 0;
      if (delay) await new Promise((r) => setTimeout(r, delay));
      applied.push({ version, workloads: [...validated.workloads.keys()].sort() });
      return { errors: validated.documentInvalid ? ['document invalid'] : [] };
    },
  });
  for (const step of steps) {
    if ('read' in step) void state.replace(step.read, step.version);
    else if ('readStarted' in step) state.readStarted();
    else if ('readFailed' in step) state.readFailed();
    else state.patch(step.patch);
  }
  return { state, applied, rereads: () => rereads };
}

describe('DesiredState', () => {
  it.each<[string, Step[], Array<{ version: number | null; workloads: string[] }>, number, number | null]>([
    ['a read applies the whole document', [{ read: doc({ a: w('a') }), version: 3 }], [{ version: 3, workloads: ['a'] }], 0, 3],
    ['the next patch merges (add)', [{ read: doc({ a: w('a') }), version: 3 }, { patch: { $version: 4, workloads: { b: w('b') } } }], [{ version: 3, workloads: ['a'] }, { version: 4, workloads: ['a', 'b'] }], 0, 4],
    ['null removes', [{ read: doc({ a: w('a'), b: w('b') }), version: 3 }, { patch: { $version: 4, workloads: { a: null } } }], [{ version: 3, workloads: ['a', 'b'] }, { version: 4, workloads: ['b'] }], 0, 4],
    ['a patch not newer is dropped', [{ read: doc({ a: w('a') }), version: 3 }, { patch: { $version: 3, workloads: { b: w('b') } } }], [{ version: 3, workloads: ['a'] }], 0, 3],
    ['a gap asks for a full read and applies nothing', [{ read: doc({ a: w('a') }), version: 3 }, { patch: { $version: 5, workloads: { b: w('b') } } }], [{ version: 3, workloads: ['a'] }], 1, 3],
    ['a patch during a read is held, then applied after it', [{ readStarted: true }, { patch: { $version: 4, workloads: { b: w('b') } } }, { read: doc({ a: w('a') }), version: 3 }], [{ version: 3, workloads: ['a'] }, { version: 4, workloads: ['a', 'b'] }], 0, 4],
    ['held patches the read already has are dropped', [{ readStarted: true }, { patch: { $version: 3, workloads: { b: w('b') } } }, { read: doc({ a: w('a'), b: w('b') }), version: 3 }], [{ version: 3, workloads: ['a', 'b'] }], 0, 3],
    ['held patches apply in version order', [{ readStarted: true }, { patch: { $version: 5, workloads: { c: w('c') } } }, { patch: { $version: 4, workloads: { b: w('b') } } }, { read: doc({ a: w('a') }), version: 3 }], [{ version: 3, workloads: ['a'] }, { version: 4, workloads: ['a', 'b'] }, { version: 5, workloads: ['a', 'b', 'c'] }], 0, 5],
    ['a failed read drops what it held (the next read has it)', [{ read: doc({ a: w('a') }), version: 3 }, { readStarted: true }, { patch: { $version: 4, workloads: { b: w('b') } } }, { readFailed: true }], [{ version: 3, workloads: ['a'] }], 0, 3],
    ['an invalid document changes nothing applied', [{ read: doc({ a: w('a') }), version: 3 }, { patch: { $version: 4, schemaVersion: '9.9' } }], [{ version: 3, workloads: ['a'] }, { version: 4, workloads: [] }], 0, 3],
    ['a patch without a version is dropped', [{ read: doc({ a: w('a') }), version: 3 }, { patch: { workloads: { b: w('b') } } }], [{ version: 3, workloads: ['a'] }], 0, 3],
  ])('%s', async (_name, steps, expected, rereads, appliedVersion) => {
    const { state, applied, rereads: asked } = run(steps);
    await state.settled();
    expect(applied).toEqual(expected);
    expect(asked()).toBe(rereads);
    expect(state.appliedVersion).toBe(appliedVersion);
  });

  it('an older document finishing after a newer one does not take the applied version back', async () => {
    const { state } = run([{ read: doc({ a: w('a') }), version: 3 }, { patch: { $version: 4, workloads: { b: w('b') } } }], { slowApply: (v) => (v === 3 ? 100 : 0) });
    await state.settled();
    expect(state.appliedVersion).toBe(4);
  });

  it('reports the errors of a refused document until a good one arrives', async () => {
    const { state } = run([{ read: { schemaVersion: '9.9' }, version: 2 }]);
    await state.settled();
    expect(state.errors).toEqual(['document invalid']);
    state.patch({ $version: 3, schemaVersion: '1.0' });
    await state.settled();
    expect(state.errors).toEqual([]);
    expect(state.appliedVersion).toBe(3);
  });

  it('saves the last applied document and applies it again at the next start', async () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.path, 'desired.last.json');
      const seen: Array<number | null> = [];
      const make = () => new DesiredState({ allowUnpinned: true, log: createLogger('error', () => undefined), lastAppliedFile: file, apply: async (_v, version) => (seen.push(version), { errors: [] }) });
      const first = make();
      await first.replace(doc({ a: w('a') }), 7);
      await first.settled();
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 7, desired: doc({ a: w('a') }) });
      const second = make();
      expect(await second.restoreLastApplied()).toBe(true);
      await second.settled();
      expect(seen).toEqual([7, 7]);
      expect(second.appliedVersion).toBe(7);
    } finally {
      tmp.cleanup();
    }
  });
});
