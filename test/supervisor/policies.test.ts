import { BusyWindow, decideAfterExit, topicMatches } from '../../dist/supervisor/index.js';

describe('decideAfterExit (restart policy)', () => {
  const backoff = { baseMs: 1000, maxMs: 300_000, resetAfterMs: 600_000 };
  it.each([
    ['always', false, 0, { action: 'restart', delayMs: 1000, restarts: 1 }],
    ['always', true, 0, { action: 'restart', delayMs: 1000, restarts: 1 }],
    ['always', false, 3, { action: 'restart', delayMs: 8000, restarts: 4 }],
    ['always', false, 20, { action: 'restart', delayMs: 300_000, restarts: 21 }],
    ['on-failure', false, 1, { action: 'restart', delayMs: 2000, restarts: 2 }],
    ['on-failure', true, 1, { action: 'stay', status: 'stopped' }],
    ['never', false, 0, { action: 'stay', status: 'failed' }],
    ['never', true, 0, { action: 'stay', status: 'stopped' }],
  ] as const)('%s, clean=%s, restarts=%i', (policy, clean, restarts, expected) => {
    expect(decideAfterExit({ policy, clean, restarts, ranForMs: 10 }, backoff)).toEqual(expected);
  });
  it('resets the count after a long healthy run', () => {
    expect(decideAfterExit({ policy: 'always', clean: false, restarts: 7, ranForMs: 600_000 }, backoff)).toEqual({ action: 'restart', delayMs: 1000, restarts: 1 });
  });
});

describe('topicMatches', () => {
  it.each([
    ['plant/+/temperature', 'plant/press-1/temperature', true],
    ['plant/+/temperature', 'plant/a/b/temperature', false],
    ['plant/#', 'plant', true],
    ['plant/#', 'plant/a/b', true],
    ['#', 'anything/at/all', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
    ['a/+', 'a', false],
  ])('%s vs %s -> %s', (filter, topic, expected) => expect(topicMatches(filter, topic)).toBe(expected));
});

describe('BusyWindow (used_cpu_percent)', () => {
  it('is the time inside calls over the last ten seconds, as a percentage of one core; old seconds fall out', () => {
    const w = new BusyWindow();
    w.add(500, 1_000);
    w.add(500, 5_500);
    expect(w.percent(6_000)).toBeCloseTo(10);
    expect(w.percent(11_200)).toBeCloseTo(5); // the second at 1 s has left the window
    expect(w.percent(60_000)).toBe(0);
    w.add(50_000, 60_000);
    expect(w.percent(60_000)).toBe(100); // never above one core
  });
});
