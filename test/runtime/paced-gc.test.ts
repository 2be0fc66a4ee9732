import { fullCollection, paceCollections, RUNNER_PACING } from '../../dist/runtime/paced-gc.js';
import { runnerHeapFlags } from '../../dist/runtime/runner/runner-workers.js';
import { execFileSync } from 'node:child_process';
import { getHeapSpaceStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { waitFor } from '../helpers.js';

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * The old generation's pages (as `heldBytes` counts them, without the young generation, whose size V8
 * changes at a full collection: under load one shrank it by as much as the test's garbage, so the pacer
 * saw no growth).
 */
const oldBytes = () => getHeapSpaceStatistics().filter((s) => s.space_name === 'old_space' || s.space_name === 'large_object_space').reduce((sum, s) => sum + s.space_size, 0);

describe('paced full collections', () => {
  it('collect once the isolate holds the growth step more than after the last one, and not before', async () => {
    let held = 10 * MB;
    let collections = 0;
    const paced = paceCollections(() => {
      collections++;
      held = 11 * MB; // what a collection leaves: the next step counts from here
    }, { checkMs: 20, growthBytes: 2 * MB, settleBytes: Infinity, settleMs: Infinity }, () => held);
    try {
      held = 11.5 * MB;
      await sleep(120);
      expect(collections).toBe(0); // 1.5 MB of growth: V8's own schedule is enough
      held = 12.5 * MB;
      await waitFor('a collection', () => collections === 1, 2000);
      held = 12.9 * MB; // 1.9 MB above what the collection left
      await sleep(120);
      expect(collections).toBe(1);
      expect(paced.count).toBe(1);
    } finally {
      paced.stop();
    }
  });

  it('an isolate that grows slowly is collected once the settling time has passed, by its smaller step', async () => {
    let held = 10 * MB;
    const collectedAt: number[] = [];
    const paced = paceCollections(() => {
      collectedAt.push(performance.now());
      held = 10 * MB;
    }, { checkMs: 20, growthBytes: 2 * MB, settleBytes: MB / 4, settleMs: 300 }, () => held);
    try {
      held = 10.2 * MB; // under the settling step: never collected for it, however long
      await sleep(500);
      expect(collectedAt).toHaveLength(0);
      held = 10.3 * MB;
      await waitFor('a settling collection', () => collectedAt.length === 1, 2000);
      held = 10.5 * MB; // over the step again at once, but the time counts from that collection
      await waitFor('the next one', () => collectedAt.length === 2, 2000);
      expect(collectedAt[1]! - collectedAt[0]!).toBeGreaterThanOrEqual(300);
    } finally {
      paced.stop();
    }
  });

  it("a real full collection frees what nothing refers to, which V8 would otherwise hold until its own schedule", async () => {
    // Whether new contexts get a `gc` (another suite in this jest worker may have turned the flag on for good).
    const exposedBefore = runInNewContext('typeof gc');
    const collect = fullCollection(); // unless exposed, taken through a context made while the flag is briefly on
    expect(runInNewContext('typeof gc')).toBe(exposedBefore); // the flag is as it was
    collect();
    // What earlier suites in this jest worker left goes back as V8's sweepers finish: the pacer's starting
    // point is taken once that has settled (a higher one hid the garbage's growth from it in a CI run).
    let settled = oldBytes();
    await waitFor('the heap to settle', async () => {
      await sleep(100);
      const now = oldBytes();
      const steady = now >= settled;
      settled = now;
      return steady;
    }, 5000);
    const paced = paceCollections(collect, { ...RUNNER_PACING, checkMs: 50 }, oldBytes);
    let garbage: Array<{ i: number; s: string }> | undefined = Array.from({ length: 400_000 }, (_, i) => ({ i, s: `reading ${i}` }));
    collect(); // still referenced: moved to the old generation, where only a full collection frees it
    const holding = oldBytes();
    garbage = undefined; // unreachable now, but nothing allocates meanwhile, so V8 has no reason to look
    expect(garbage).toBeUndefined();
    try {
      await waitFor('a paced collection', () => paced.count > 0, 5000);
      // ~30 MB of garbage; its pages go back as V8's concurrent sweepers finish with them.
      await waitFor("the garbage's pages given back", () => oldBytes() < holding - 16 * MB, 5000);
    } finally {
      paced.stop();
    }
  });

  it("with the runner's flags a full collection gives back a fragmented old generation's holes", () => {
    // Rounds of 200k objects that live long enough to reach the old generation, of which one in twenty stays:
    // every old-generation page stays in use, mostly free.
    const script = `
      const keep = [];
      for (let round = 0; round < 20; round++) {
        const batch = [];
        for (let i = 0; i < 200000; i++) { const o = { i, s: 'x' + i }; batch.push(o); if (i % 20 === 0) keep.push(o); }
      }
      gc(); gc();
      const old = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
      console.log(JSON.stringify({ committed: old.space_size, used: old.space_used_size, kept: keep.length }));`;
    const oldSpace = (flags: string[]) => JSON.parse(execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' })) as { committed: number; used: number; kept: number };
    const runner = oldSpace(runnerHeapFlags(true));
    // V8's own heuristics compact some collections and not others (they weigh its measured speed): the
    // contrast that shows the test can tell is a collection with compaction off.
    const uncompacted = oldSpace([...runnerHeapFlags(false), '--expose-gc', '--no-compact']);
    expect(runner.kept).toBe(200_000);
    expect(runner.committed - runner.used).toBeLessThan(2 * MB);
    expect(uncompacted.committed - uncompacted.used).toBeGreaterThan(4 * MB);
  });

  it("the host's paced collection compacts an old generation V8's own collections leave fragmented", () => {
    const pacedGc = new URL('../../dist/runtime/paced-gc.js', import.meta.url).href;
    const script = `
      import { compacting } from ${JSON.stringify(pacedGc)};
      import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
      const free = () => { const old = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space'); return old.space_size - old.space_used_size; };
      const keep = [];
      for (let round = 0; round < 20; round++) {
        const batch = [];
        for (let i = 0; i < 200000; i++) { const o = { i, s: 'x' + i }; batch.push(o); if (i % 20 === 0) keep.push(o); }
      }
      gc(); // with V8's compaction off, a collection that leaves the batches' holes
      const holes = free();
      setFlagsFromString('--compact'); // V8 as the host runs it
      compacting(gc)();
      console.log(JSON.stringify({ holes, after: free(), kept: keep.length }));`;
    const run = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--no-compact', '--input-type=module', '-e', script], { encoding: 'utf8' })) as { holes: number; after: number; kept: number };
    expect(run.kept).toBe(200_000);
    expect(run.holes).toBeGreaterThan(4 * MB);
    expect(run.after).toBeLessThan(2 * MB);
  });
});
