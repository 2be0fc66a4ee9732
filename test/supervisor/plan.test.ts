// The planner and the policies around it are pure: tables of inputs and the commands or decisions out.
import { describe as describeCommand, plan, rollbackDue, KeyedLock } from '../../dist/supervisor/index.js';
import { diffSpecs, validateDesired, type WorkloadSpec } from '../../dist/spec/index.js';

const specs = (w: Record<string, unknown>): ReadonlyMap<string, WorkloadSpec> => validateDesired({ schemaVersion: '1.0', workloads: w }, { allowUnpinned: true }).workloads;
const echo = { source: 'file://echo.wasm' };

describe('plan', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>, string[], string[]]>([
    ['nothing changed', { a: echo }, { a: echo }, [], []],
    ['add', {}, { a: echo }, [], ['start a']],
    ['add disabled', {}, { a: { ...echo, enabled: false } }, [], ['start a (disabled)']],
    ['remove', { a: echo }, {}, [], ['remove a']],
    ['disable', { a: echo }, { a: { ...echo, enabled: false } }, [], ['replace a: its spec changed']],
    ['config change', { a: echo }, { a: { ...echo, config: { k: 'v' } } }, [], ['replace a: its spec changed']],
    ['update (new source)', { a: echo }, { a: { source: 'file://echo2.wasm' } }, [], ['replace a: its spec changed']],
    ['an invalid new spec keeps the running one', { a: echo }, {}, ['a'], []],
    ['key order is not a change', { a: { ...echo, config: { x: '1', y: '2' } } }, { a: { ...echo, config: { y: '2', x: '1' } } }, [], []],
    ['removes first, then replaces, then starts', { gone: echo, edit: echo }, { edit: { ...echo, timerMs: 500 }, fresh: echo }, [], ['remove gone', 'replace edit: its spec changed', 'start fresh']],
  ])('%s', (_name, current, desired, invalid, expected) => {
    const want = specs(desired);
    expect(plan(diffSpecs(want, specs(current)), want, new Set(invalid)).map(describeCommand)).toEqual(expected);
  });
});

describe('rollbackDue (probation)', () => {
  it.each<[string, { previous: string; until: number } | undefined, number, boolean]>([
    ['no update on probation', undefined, 1000, false],
    ['failed inside the window', { previous: 'v1', until: 2000 }, 1500, true],
    ['failed at its last moment', { previous: 'v1', until: 2000 }, 2000, true],
    ['failed after it', { previous: 'v1', until: 2000 }, 2001, false],
  ])('%s', (_name, probation, now, expected) => expect(rollbackDue(probation, now)).toBe(expected));
});

describe('KeyedLock', () => {
  it('runs work for one key one at a time in order, and other keys at once', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    const step = (key: string, id: string, ms: number) => lock.run(key, async () => {
      events.push(`${id} in`);
      await new Promise((r) => setTimeout(r, ms));
      events.push(`${id} out`);
    });
    await Promise.all([step('a', 'a1', 30), step('a', 'a2', 0), step('b', 'b1', 10)]);
    expect(events).toEqual(['a1 in', 'b1 in', 'b1 out', 'a1 out', 'a2 in', 'a2 out']);
    expect(lock.size).toBe(0); // nothing kept for keys no one holds
  });

  it('lets go when the work throws', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await lock.run('a', () => 'next')).toBe('next');
  });
});
