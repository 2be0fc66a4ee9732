import { existsSync, mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Outbox, OutboxRefusal, OutboxWriter, type AckingSend } from '../../dist/outbox/index.js';
import { bodyText } from '../../dist/base/index.js';
import { createLogger } from '../../dist/ops/index.js';
import { fullCollection } from '../../dist/runtime/paced-gc.js';
import { ROOT, runWithFileSizeLimit, tempDir, waitFor } from '../helpers.js';

const msg = (text: string) => ({ body: Buffer.from(text), contentType: 'text/plain', properties: [['k', 'v']] as Array<[string, string]> });

/** A full collection, for heap figures that count only what is kept. */
const gc = fullCollection();

function setup(options: { ttlMs?: number; capBytes?: number; send: AckingSend }) {
  const tmp = tempDir();
  const logs: string[] = [];
  const outbox = new Outbox(
    { dir: join(tmp.path, 'outbox'), capBytes: options.capBytes ?? 1024 * 1024, totalCapBytes: 1 << 30, ttlMs: options.ttlMs ?? 60_000, fsync: 'never', window: 4 },
    options.send,
    createLogger('info', (l) => logs.push(l)),
  );
  const handle = outbox.open('w');
  const writer = new OutboxWriter(handle.dir, 'd'.repeat(64), new BigInt64Array(handle.counters), handle.capBytes, handle.fsync);
  return { tmp, logs, outbox, handle, writer };
}

describe('Outbox', () => {
  it('sends every message, retries a failed one with the same messageId, and removes its folder once all is acknowledged', async () => {
    const seen: string[] = [];
    const ids = new Map<string, string>();
    let failOnce = true;
    const { tmp, outbox, handle, writer } = setup({
      send: async (m) => {
        const text = bodyText(m.msg.body);
        if (text === 'm3' && failOnce) {
          failOnce = false;
          ids.set('first-try', m.messageId);
          throw new Error('link lost');
        }
        if (text === 'm3') ids.set('second-try', m.messageId);
        seen.push(text);
      },
    });
    for (let i = 1; i <= 10; i++) writer.append('out', msg(`m${i}`));
    writer.close();
    outbox.writerClosed(handle.dir);
    await waitFor('all sent', () => seen.length === 10, 5000);
    expect([...seen].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 1}`).sort());
    expect(ids.get('first-try')).toBe(ids.get('second-try'));
    expect(outbox.delivered('w')).toBe(10);
    await waitFor('folder removed', () => !existsSync(handle.dir), 5000);
    outbox.close();
    tmp.cleanup();
  });

  it('reads across segment files while they are written, in order, each message once', async () => {
    const seen: number[] = [];
    const { tmp, outbox, handle, writer } = setup({ capBytes: 64 * 1024 * 1024, send: async (m) => void seen.push(Buffer.from(m.msg.body as Uint8Array).readUInt32BE(0)) });
    const body = Buffer.alloc(8 * 1024, 7); // ~11 KB a record: 1200 of them fill four 4 MB segments
    for (let i = 0; i < 1200; i++) {
      body.writeUInt32BE(i, 0);
      writer.append('out', { body, contentType: 'application/octet-stream', properties: [] });
      if (i % 50 === 0) outbox.notify(handle.dir); // reads land mid-line and mid-segment
    }
    writer.close();
    outbox.writerClosed(handle.dir);
    await waitFor('all sent', () => seen.length >= 1200, 10_000);
    expect(seen).toEqual(Array.from({ length: 1200 }, (_, i) => i));
    await waitFor('folder removed', () => !existsSync(handle.dir), 5000);
    outbox.close();
    tmp.cleanup();
  });

  it('sends text bodies as text and any other body byte for byte, with the writer\'s digest', async () => {
    const got: Array<{ body: Uint8Array | string; digest: string; properties: Array<[string, string]> }> = [];
    const { tmp, outbox, handle, writer } = setup({ send: async (m) => void got.push({ body: m.msg.body, digest: m.digest, properties: m.msg.properties }) });
    const awkward: Array<[string, string]> = [['q"uote\\', 'line\nbreak °C \u2028']];
    writer.append('out', { body: Buffer.from('{"t":21.5,"unit":"°C"}'), contentType: 'application/json', properties: awkward });
    writer.append('out', { body: Buffer.from([0xff, 0xfe, 0x00, 0x41]), contentType: 'text/plain', properties: [] }); // labelled text, not UTF-8
    writer.append('out', { body: new Uint8Array([9, 9, 1, 2, 3, 9]).subarray(2, 5), contentType: 'application/octet-stream', properties: [] }); // a view into a larger buffer
    writer.close();
    outbox.writerClosed(handle.dir);
    await waitFor('all three sent', () => got.length === 3, 5000);
    expect(got[0]).toEqual({ body: '{"t":21.5,"unit":"°C"}', digest: 'd'.repeat(64), properties: awkward });
    expect([...Buffer.from(got[1]!.body as Uint8Array)]).toEqual([0xff, 0xfe, 0x00, 0x41]);
    expect([...Buffer.from(got[2]!.body as Uint8Array)]).toEqual([1, 2, 3]);
    outbox.close();
    tmp.cleanup();
  });

  it('replays an outbox written by the previous record format (digest and base64 body in each record)', async () => {
    const tmp = tempDir();
    const legacy = join(tmp.path, 'outbox', 'w', 'old-instance');
    mkdirSync(legacy, { recursive: true });
    const record = { i: 'id-1', d: 'e'.repeat(64), t: Date.now(), o: 'out', c: 'text/plain', p: [], b: Buffer.from('from before').toString('base64') };
    writeFileSync(join(legacy, '0000000000000000.seg'), `${JSON.stringify(record)}\n`);
    const got: Array<{ text: string; digest: string; id: string }> = [];
    const outbox = new Outbox({ dir: join(tmp.path, 'outbox'), capBytes: 1 << 20, totalCapBytes: 1 << 30, ttlMs: 60_000, fsync: 'never', window: 4 }, async (m) => {
      got.push({ text: bodyText(m.msg.body), digest: m.digest, id: m.messageId });
    }, createLogger('error', () => undefined));
    outbox.recover();
    await waitFor('replayed', () => got.length === 1, 5000);
    expect(got[0]).toEqual({ text: 'from before', digest: 'e'.repeat(64), id: 'id-1' });
    outbox.close();
    tmp.cleanup();
  });

  it('the cap is per workload and per volume: a new instance gets what the old left, not a fresh allowance', () => {
    const tmp = tempDir();
    const outbox = new Outbox({ dir: join(tmp.path, 'outbox'), capBytes: 2000, totalCapBytes: 3000, ttlMs: 60_000, fsync: 'never', window: 4 }, () => new Promise(() => undefined), createLogger('error', () => undefined));
    const writerFor = (workload: string) => {
      const handle = outbox.open(workload);
      return { handle, writer: new OutboxWriter(handle.dir, 'd'.repeat(64), new BigInt64Array(handle.counters), handle.capBytes, handle.fsync) };
    };
    const fill = (writer: OutboxWriter) => {
      let bytes = 0;
      for (let i = 0; i < 100; i++) {
        try {
          writer.append('out', msg('x'.repeat(100)));
          bytes += 1;
        } catch (err) {
          expect((err as OutboxRefusal).reason).toBe('backpressure');
          break;
        }
      }
      return bytes;
    };
    try {
      const first = writerFor('a');
      const firstCount = fill(first.writer);
      expect(firstCount).toBeGreaterThan(3);
      first.writer.close();
      outbox.writerClosed(first.handle.dir); // the instance restarts; its unsent messages stay
      expect(fill(writerFor('a').writer)).toBe(0); // the restart found the workload's allowance used
      const other = fill(writerFor('b').writer); // another workload: only what the volume cap leaves
      expect(other).toBeGreaterThan(0);
      expect(other).toBeLessThan(firstCount);
      expect(outbox.unsentBytes('a') + outbox.unsentBytes('b')).toBeLessThanOrEqual(3000);
    } finally {
      outbox.close();
      tmp.cleanup();
    }
  });

  it('answers backpressure past its cap, and accepts again once messages are acknowledged', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const { tmp, outbox, writer } = setup({ capBytes: 2000, send: () => gate });
    let accepted = 0;
    let refusal = '';
    for (let i = 0; i < 100 && !refusal; i++) {
      try {
        writer.append('out', msg('x'.repeat(100)));
        accepted++;
      } catch (err) {
        expect(err).toBeInstanceOf(OutboxRefusal);
        expect((err as OutboxRefusal).reason).toBe('backpressure');
        refusal = (err as Error).message;
      }
    }
    expect(accepted).toBeGreaterThan(3);
    expect(refusal).toMatch(/^backpressure: \d+ bytes wait to be sent \(outbox cap 2000\)$/);
    release();
    await waitFor('accepting again', () => {
      try {
        writer.append('out', msg('y'));
        return true;
      } catch {
        return false;
      }
    }, 5000);
    outbox.close();
    tmp.cleanup();
  });

  it('a write that fails (disk full) refuses that message only, with its reason; later messages still go out', async () => {
    const seen: string[] = [];
    const { tmp, outbox, handle } = setup({ send: async (m) => void seen.push(bodyText(m.msg.body)) });
    // The next segment is a link to /dev/full, where every write fails with ENOSPC (a real full disk).
    const full = join(handle.dir, '0000000000000000.seg');
    symlinkSync('/dev/full', full);
    const writer = new OutboxWriter(handle.dir, 'd'.repeat(64), new BigInt64Array(handle.counters), handle.capBytes, handle.fsync);
    expect(() => writer.append('out', msg('lost'))).toThrow(expect.objectContaining({ reason: 'io', message: expect.stringMatching(/^outbox write failed: ENOSPC/) }));
    writer.close();
    // Space again: a new writer on a real file carries on, and what it accepts goes out.
    unlinkSync(full);
    const next = new OutboxWriter(handle.dir, 'd'.repeat(64), new BigInt64Array(handle.counters), handle.capBytes, handle.fsync);
    next.append('out', msg('kept'));
    next.close();
    outbox.writerClosed(handle.dir);
    await waitFor('the accepted message sent', () => seen.length === 1, 5000);
    expect(seen).toEqual(['kept']);
    outbox.close();
    tmp.cleanup();
  });

  it('a write cut short (file size limit, as on a full disk) leaves no half record behind', () => {
    const dir = tempDir();
    // A child with a 4 KB file size limit (ulimit -f) appends ~300-byte records until one is refused.
    const script = `const { OutboxWriter } = await import(${JSON.stringify(join(ROOT, 'dist/outbox/index.js'))});
      const writer = new OutboxWriter(${JSON.stringify(dir.path)}, 'd'.repeat(64), new BigInt64Array(new SharedArrayBuffer(16)), 1 << 20, 'never');
      let accepted = 0;
      try { for (;;) { writer.append('out', { body: Buffer.alloc(150, 65), contentType: 'text/plain', properties: [] }); accepted++; } }
      catch (err) { console.log(JSON.stringify({ accepted, reason: err.reason, message: err.message })); }`;
    const stdout = runWithFileSizeLimit(4, script);
    const result = JSON.parse(stdout) as { accepted: number; reason: string; message: string };
    expect(result).toMatchObject({ reason: 'io', message: expect.stringMatching(/^outbox write failed: short write/) });
    const segment = readFileSync(join(dir.path, '0000000000000000.seg'), 'utf8');
    expect(segment.endsWith('\n')).toBe(true);
    expect(segment.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown)).toHaveLength(result.accepted);
    dir.cleanup();
  });

  it('drops messages older than the time to live, counts and logs them', async () => {
    const sent: string[] = [];
    const { tmp, logs, outbox, writer, handle } = setup({ ttlMs: 1, send: async (m) => void sent.push(bodyText(m.msg.body)) });
    writer.append('out', msg('stale'));
    writer.close();
    await new Promise((r) => setTimeout(r, 20));
    outbox.writerClosed(handle.dir);
    await waitFor('expiry counted', () => outbox.expired('w') === 1, 5000);
    expect(sent).toEqual([]);
    expect(logs.join()).toMatch(/\[workload=w\] outbox: 1 message\(s\) older than the time to live dropped/);
    outbox.close();
    tmp.cleanup();
  });

  it('keeps no acknowledged message in memory while its workload runs on', async () => {
    let sent = 0;
    const { tmp, outbox, handle, writer } = setup({ capBytes: 64 * 1024 * 1024, send: async () => void sent++ });
    gc();
    const before = process.memoryUsage().heapUsed;
    const body = 'y'.repeat(8192);
    for (let i = 0; i < 4000; i++) {
      writer.append('out', msg(body));
      if (i % 100 === 0) outbox.notify(handle.dir);
    }
    outbox.notify(handle.dir);
    await waitFor('all sent', () => sent === 4000, 10_000);
    gc();
    // A kept record holds its 8 KB body: up to 4096 of them were kept between cuts (here ~32 MB).
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(4 * 1024 * 1024);
    writer.close();
    outbox.writerClosed(handle.dir);
    await waitFor('folder removed', () => !existsSync(handle.dir), 5000);
    outbox.close();
    tmp.cleanup();
  });

  it('while edgeHub is away, holds a bounded part of a large outbox in memory, not all of it; once it is back, all of it goes out in order', async () => {
    let away = true;
    const seen: number[] = [];
    const { tmp, outbox, handle, writer } = setup({
      capBytes: 256 * 1024 * 1024,
      send: async (m) => {
        if (away) throw new Error('link lost');
        seen.push(Number(bodyText(m.msg.body).slice(0, 6)));
      },
    });
    gc();
    const before = process.memoryUsage().heapUsed;
    const filler = 'x'.repeat(160);
    const count = 150_000; // ~40 MB of records on disk
    for (let i = 0; i < count; i++) {
      writer.append('out', msg(`${String(i).padStart(6, '0')}${filler}`));
      if (i % 10_000 === 0) outbox.notify(handle.dir);
    }
    outbox.notify(handle.dir);
    await new Promise((r) => setTimeout(r, 300)); // polls and failed sends meanwhile
    gc();
    const held = process.memoryUsage().heapUsed - before;
    expect(outbox.unsentBytes('w')).toBeGreaterThan(35 * 1024 * 1024);
    expect(held).toBeLessThan(8 * 1024 * 1024); // all of it parsed: ~75 MB
    away = false;
    writer.close();
    outbox.writerClosed(handle.dir);
    await waitFor('all sent', () => seen.length >= count, 60_000);
    expect(seen.every((n, i) => n === i)).toBe(true);
    await waitFor('folder removed', () => !existsSync(handle.dir), 5000);
    outbox.close();
    tmp.cleanup();
  }, 90_000);
});
