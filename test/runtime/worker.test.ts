import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { KvStore } from '../../dist/runtime/worker/kv-store.js';
import { hostAllowed } from '../../dist/runtime/worker/sandbox.js';
import { ROOT, runWithFileSizeLimit, tempDir } from '../helpers.js';

describe('KvStore', () => {
  it('survives a reopen, skips a torn last line, enforces limits', () => {
    const dir = tempDir();
    const kv = new KvStore(dir.path);
    kv.set('a', Buffer.from('1'));
    kv.set('b', Buffer.from('2'));
    kv.set('a', Buffer.from('3'));
    kv.delete('b');
    kv.close();
    appendFileSync(join(dir.path, 'kv.log'), '{"k":"c","v":"YWJj'); // power cut mid-write
    const again = new KvStore(dir.path);
    expect(Buffer.from(again.get('a')!).toString()).toBe('3');
    expect(again.get('b')).toBeUndefined();
    expect(again.listKeys('')).toEqual(['a']);
    expect(() => again.set('', Buffer.from('x'))).toThrow('key must be');
    expect(() => again.set('big', new Uint8Array(70_000))).toThrow('limit is 65536');
    // What is written after the torn line is not glued to it (and lost) at the next open.
    again.set('d', Buffer.from('4'));
    again.close();
    const third = new KvStore(dir.path);
    expect(third.listKeys('')).toEqual(['a', 'd']);
    third.close();
    dir.cleanup();
  });
  it('a write cut short (file size limit, as on a full disk) is an err for the guest and leaves the log as it was', () => {
    const dir = tempDir();
    // A child with a 4 KB file size limit (ulimit -f): the write of an 8 KB record stops at the limit.
    const script = `const { KvStore } = await import(${JSON.stringify(join(ROOT, 'dist/runtime/worker/kv-store.js'))});
      const kv = new KvStore(${JSON.stringify(dir.path)});
      kv.set('a', Buffer.from('1'));
      let error = '';
      try { kv.set('big', Buffer.alloc(6000, 1)); } catch (err) { error = String(err); }
      console.log(JSON.stringify({ error, inMemory: kv.get('big') !== undefined }));`;
    const stdout = runWithFileSizeLimit(4, script);
    expect(JSON.parse(stdout)).toEqual({ error: expect.stringMatching(/^kv write failed: short write: \d+ of \d+ bytes/), inMemory: false });
    const back = new KvStore(dir.path);
    expect(back.listKeys('')).toEqual(['a']);
    back.set('c', Buffer.from('3')); // and the log takes new records after it
    back.close();
    expect(new KvStore(dir.path).listKeys('')).toEqual(['a', 'c']);
    dir.cleanup();
  });
  it('compacts a log that is mostly dead and keeps the live values', () => {
    const dir = tempDir();
    const kv = new KvStore(dir.path);
    for (let i = 0; i < 200; i++) kv.set('counter', Buffer.alloc(1000, i));
    kv.close();
    const again = new KvStore(dir.path);
    expect(again.get('counter')?.[0]).toBe(199);
    again.close();
    dir.cleanup();
  });
});

describe('hostAllowed (outbound HTTP allow-list)', () => {
  const https = { tag: 'HTTPS' as const };
  it.each([
    [['api.example.com:443'], 'api.example.com', true],
    [['api.example.com:443'], 'API.example.com:443', true],
    [['api.example.com'], 'api.example.com:443', true],
    [['api.example.com'], 'api.example.com:8443', false],
    [['api.example.com:443'], 'evil.example.com', false],
    [[], 'api.example.com', false],
  ])('%j allows %s: %s', (allowed, authority, expected) => expect(hostAllowed(allowed, https, authority)).toBe(expected));
});
