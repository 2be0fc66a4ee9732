import { fitReported, reportedPatch, MAX_REPORTED_BYTES } from '../../dist/edge/reported.js';

describe('reported properties', () => {
  it('patches only what changed, with null for what went away', () => {
    const before = { host: { version: '0.1.0', applied: 3 }, workloads: { a: { status: 'running', restarts: 0 }, b: { status: 'running' } } };
    const after = { host: { version: '0.1.0', applied: 4 }, workloads: { a: { status: 'backoff', restarts: 1 }, c: { status: 'pulling' } } };
    expect(reportedPatch(before, after)).toEqual({ host: { applied: 4 }, workloads: { a: { status: 'backoff', restarts: 1 }, b: null, c: { status: 'pulling' } } });
    expect(reportedPatch(after, after)).toBeUndefined();
  });
  it('stays under the twin limit: errors are cut, then workloads beyond what fits are counted, not sent', () => {
    const workloads = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`w${i}`, { status: 'failed', lastError: 'x'.repeat(500) }]));
    const fitted = fitReported({ host: { version: '0.1.0' }, workloads });
    expect(Buffer.byteLength(JSON.stringify(fitted))).toBeLessThanOrEqual(MAX_REPORTED_BYTES);
    const kept = Object.keys(fitted.workloads).length;
    expect(kept).toBeGreaterThan(50);
    expect(fitted.host.workloadsNotReported).toBe(1000 - kept);
    const few = fitReported({ host: {}, workloads: { a: { status: 'failed', lastError: 'y'.repeat(2000) } } });
    expect(few.workloads.a?.lastError).toHaveLength(2000); // small documents are left whole
  });
});
