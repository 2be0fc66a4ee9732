import { fullCollection, heldBytes, paceCollections } from '../../dist/runtime/paced-gc.js';
import { runInNewContext } from 'node:vm';
import { waitFor } from '../helpers.js';

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('paced full collections', () => {
  it('collect once the isolate holds the growth step more than after the last one, and not before', async () => {
    let held = 10 * MB;
    let collections = 0;
    const paced = paceCollections(() => {
      collections++;
      held = 11 * MB; // what a collection leaves: the next step counts from here
    }, () => held, 20, 2 * MB);
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

  it("a real full collection frees what nothing refers to, which V8 would otherwise hold until its own schedule", async () => {
    // Whether new contexts get a `gc` (another suite in this jest worker may have turned the flag on for good).
    const exposedBefore = runInNewContext('typeof gc');
    const collect = fullCollection(); // unless exposed, taken through a context made while the flag is briefly on
    expect(runInNewContext('typeof gc')).toBe(exposedBefore); // the flag is as it was
    collect();
    const paced = paceCollections(collect, heldBytes, 50);
    let garbage: Array<{ i: number; s: string }> | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `reading ${i}` }));
    collect(); // still referenced: moved to the old generation, where only a full collection frees it
    const holding = heldBytes();
    garbage = undefined; // unreachable now, but nothing allocates meanwhile, so V8 has no reason to look
    expect(garbage).toBeUndefined();
    try {
      await waitFor('a paced collection', () => paced.count > 0, 5000);
      expect(heldBytes()).toBeLessThan(holding - 8 * MB);
    } finally {
      paced.stop();
    }
  });
});
