// getWorkloadLogs is given a caller's regexes and item lists: none of them may stall or bloat the host.
import { gunzipSync } from 'node:zlib';
import { createMethodHandlers, dispatchMethod, MAX_METHOD_PAYLOAD_BYTES, selectLogs, type LogSource } from '../../dist/methods/index.js';
import type { LogRecord } from '../../dist/ops/index.js';

const lines = (n: number, text: (i: number) => string): LogRecord[] => Array.from({ length: n }, (_, i) => ({ time: 1_700_000_000_000 + i, level: 'info', text: text(i) }));
const source = (rings: Record<string, LogRecord[]>): LogSource & { reads: Record<string, number> } => {
  const reads: Record<string, number> = {};
  return {
    reads,
    names: () => Object.keys(rings),
    logs: (name) => {
      reads[name] = (reads[name] ?? 0) + 1;
      return rings[name]!;
    },
  };
};

describe('selectLogs', () => {
  it('a catastrophic-backtracking regex answers at once (RE2: linear time)', () => {
    const src = source({ a: lines(1000, () => 'x'.repeat(99)) });
    const started = performance.now();
    const out = selectLogs({ items: [{ id: 'a', filter: { regex: '^(x+x+)+y$' } }] }, src, 100_000);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(out).toEqual([{ id: 'a', payload: '' }]);
  });

  it('many items over big lines: one read per ring, the answer within its byte budget', () => {
    const src = source({ a: lines(1000, (i) => `${i} ${'y'.repeat(8192)}`), b: lines(1000, (i) => `${i} ${'z'.repeat(8192)}`) });
    const items = Array.from({ length: 8 }, () => ({ id: '.*' }));
    const budget = MAX_METHOD_PAYLOAD_BYTES - 1024;
    for (const contentType of ['text', 'json'] as const) {
      const started = performance.now();
      const out = selectLogs({ items, contentType }, src, budget);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(out.map((o) => o.id)).toEqual(['a', 'b']);
      expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThanOrEqual(budget);
      // The newest lines are the ones kept, and each workload got its share.
      for (const item of out) {
        const text = JSON.stringify('payload' in item ? item.payload : undefined);
        expect(text).toContain('999 ');
        expect(text.length).toBeGreaterThan(budget / 4);
      }
    }
    expect(src.reads).toEqual({ a: 2, b: 2 }); // once per request, not once per item
  });

  it('tail, loglevel and regex filter as edgeAgent does', () => {
    const records: LogRecord[] = [...lines(5, (i) => `info ${i}`), { time: 1_700_000_000_010, level: 'error', text: 'boom' }];
    const out = selectLogs({ items: [{ id: 'a', filter: { tail: 2, loglevel: 6, regex: 'info [34]' } }], contentType: 'json' }, source({ a: records }), 10_000);
    expect(((out[0] as { payload: unknown }).payload as Array<{ text: string }>).map((r) => r.text)).toEqual(['info 3', 'info 4']);
  });
});

describe('getWorkloadLogs method', () => {
  const handlers = createMethodHandlers({ ...source({ a: lines(3, (i) => `l${i}`) }), list: () => [] } as never, { version: 'test', startedAt: Date.now() });
  it.each([
    ['a regex RE2 does not take', { items: [{ id: 'a', filter: { regex: '(?<=x)y' } }] }],
    ['too many items', { items: Array.from({ length: 9 }, () => ({ id: 'a' })) }],
    ['no items', { items: [] }],
    ['a huge id', { items: [{ id: 'a'.repeat(300) }] }],
  ])('refuses %s with 400 and a coded error', async (_name, payload) => {
    expect(await dispatchMethod(handlers, 'getWorkloadLogs', payload)).toMatchObject({ status: 400, payload: { code: 'WH_ERR_BAD_PAYLOAD' } });
  });
  it('answers gzip as edgeAgent does: payloadBytes, base64 of the gzipped payload', async () => {
    for (const contentType of ['text', 'json'] as const) {
      const plain = await dispatchMethod(handlers, 'getWorkloadLogs', { items: [{ id: 'a' }], contentType });
      const zipped = await dispatchMethod(handlers, 'getWorkloadLogs', { items: [{ id: 'a' }], contentType, encoding: 'gzip' });
      const [entry] = zipped.payload as Array<{ id: string; payloadBytes: string }>;
      expect(entry!.id).toBe('a');
      const text = gunzipSync(Buffer.from(entry!.payloadBytes, 'base64')).toString('utf8');
      const [original] = plain.payload as Array<{ payload: unknown }>;
      expect(contentType === 'json' ? JSON.parse(text) : text).toEqual(original!.payload);
    }
  });

  it('answers a good request', async () => {
    expect(await dispatchMethod(handlers, 'getWorkloadLogs', { items: [{ id: 'a' }], contentType: 'json' })).toMatchObject({ status: 200, payload: [{ id: 'a', payload: [{ text: 'l0' }, { text: 'l1' }, { text: 'l2' }] }] });
  });
});
