import { parse } from '@bytecodealliance/jco';
import { decideAfterExit, topicMatches, plan } from '../dist/supervisor/index.js';
import { formatLine, parseLogLevel, createLogger, LogRing, Operations } from '../dist/ops/index.js';
import { capMemories } from '../dist/runtime/memory-limit.js';
import { KvStore } from '../dist/runtime/worker/kv-store.js';
import { hostAllowed } from '../dist/runtime/worker/sandbox.js';
import { diffSpecs, mergePatch, validateDesired } from '../dist/spec/index.js';
import { fitReported, reportedPatch, MAX_REPORTED_BYTES } from '../dist/edge/reported.js';
import { freePort, parseExposition, ROOT, runWithFileSizeLimit, sampleValue, tempDir } from './helpers.js';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

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

describe('plan', () => {
  const specs = (w: Record<string, unknown>) => validateDesired({ schemaVersion: '1.0', workloads: w }, { allowUnpinned: true }).workloads;
  it('removes, replaces and starts; never removes a workload whose new spec is invalid', () => {
    const current = specs({ keep: { source: 'file://k' }, gone: { source: 'file://g' }, broken: { source: 'file://b' }, edit: { source: 'file://e' } });
    const desired = specs({ keep: { source: 'file://k' }, edit: { source: 'file://e2' }, fresh: { source: 'file://f' } });
    const commands = plan(diffSpecs(desired, current), desired, new Set(['broken']));
    expect(commands.map((c) => `${c.kind} ${c.name}`)).toEqual(['remove gone', 'replace edit', 'start fresh']);
  });
});

describe('capMemories', () => {
  const memoryOf = async (wat: string, limitMb: number) => {
    const capped = capMemories(await parse(wat), limitMb);
    const instance = await WebAssembly.instantiate(capped, {});
    return instance.instance.exports.memory as WebAssembly.Memory;
  };
  it('adds a maximum to a memory that has none', async () => {
    const memory = await memoryOf('(module (memory (export "memory") 1))', 1);
    expect(memory.grow(0)).toBe(1);
    expect(() => memory.grow(16)).toThrow(RangeError);
  });
  it('lowers a larger maximum and keeps a smaller one', async () => {
    const lowered = await memoryOf('(module (memory (export "memory") 1 100))', 2); // 2 MB = 32 pages
    expect(lowered.grow(31)).toBe(1);
    expect(() => lowered.grow(1)).toThrow(RangeError);
    const small = await memoryOf('(module (memory (export "memory") 1 2))', 64);
    expect(() => small.grow(2)).toThrow(RangeError);
  });
  it('refuses a module that needs more than the limit at start', async () => {
    await expect(memoryOf('(module (memory (export "memory") 100))', 1)).rejects.toThrow(/needs 7 MB of memory at start; limits.memoryMb is 1/);
  });
});

describe('logger', () => {
  it('writes edgeAgent lines: syslog severity, UTC time, level tag', () => {
    expect(formatLine('warn', 'disk low', new Date('2026-11-24T10:00:00.123Z'))).toBe('<4> 2026-11-24 10:00:00.123 +00:00 [WRN] - disk low\n');
    expect(formatLine('error', 'a\nb', new Date(0))).toBe('<3> 1970-01-01 00:00:00.000 +00:00 [ERR] - a b\n');
  });
  it('reads RuntimeLogLevel as the system modules do and drops lower levels', () => {
    expect(parseLogLevel('Warning')).toBe('warn');
    expect(parseLogLevel('verbose')).toBe('trace');
    expect(parseLogLevel(undefined)).toBe('info');
    const lines: string[] = [];
    const log = createLogger('warn', (l) => lines.push(l)).forWorkload('f');
    log.info('quiet');
    log.error('loud');
    expect(lines).toEqual([expect.stringMatching(/\[ERR\] - \[workload=f\] loud\n$/)]);
  });
  it('keeps the newest records in a bounded ring', () => {
    const ring = new LogRing(3);
    for (const n of [1, 2, 3, 4, 5]) ring.push('info', String(n));
    expect(ring.toArray().map((r) => r.text)).toEqual(['3', '4', '5']);
  });
});

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

describe('mergePatch (IoT Hub twin semantics)', () => {
  it('merges objects, deletes on null, replaces arrays and scalars', () => {
    const base = { schemaVersion: '1.0', workloads: { a: { subscribe: ['x', 'y'], config: { k: '1', j: '2' } }, b: { source: 's' } } };
    const merged = mergePatch(base, { workloads: { a: { subscribe: ['z'], config: { j: null } }, b: null, c: { source: 't' } } });
    expect(merged).toEqual({ schemaVersion: '1.0', workloads: { a: { subscribe: ['z'], config: { k: '1' } }, c: { source: 't' } } });
    expect(base.workloads.a.subscribe).toEqual(['x', 'y']); // pure
  });
});

describe('Operations (metrics and health endpoint)', () => {
  const sample = (name: string, status: string) => ({
    name, status, digest: null, kind: 'handler', since: '', restarts: 0, lastError: null, lastExitReason: null, lastExitCode: null,
    nextRestartAt: null, rolledBackFrom: null, desiredVersion: null, messagesSent: 7, messagesRefused: 0, messagesDropped: 0, memoryBytes: 65536, outboxUnsentBytes: 0,
  });
  const labels = { iothub: 'hub.example', edge_device: 'dev1', instance_number: 'i-1' };

  it('answers health 200 while running and 503 once shutdown has begun; a taken port is logged, not fatal', async () => {
    let workloads = [sample('a', 'running'), sample('b', 'backoff')];
    const ops = new Operations(() => workloads as never, labels);
    const logs: string[] = [];
    const port = await freePort();
    expect(await ops.listen(port, '127.0.0.1', createLogger('info', (l) => logs.push(l)))).toBe(port);
    const health = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      return [res.status, await res.json()];
    };
    expect(await health()).toEqual([200, { status: 'ok', uptimeSeconds: expect.any(Number), workloads: { running: 1, backoff: 1 } }]);
    const taken = new Operations(() => [], labels);
    expect(await taken.listen(port, '127.0.0.1', createLogger('info', (l) => logs.push(l)))).toBeUndefined();
    expect(logs.join('')).toMatch(/metrics endpoint not started on 127\.0\.0\.1:\d+: listen EADDRINUSE/);
    ops.stopping();
    expect(await health()).toEqual([503, expect.objectContaining({ status: 'stopping' })]);
    workloads = [];
    await ops.close();
  });

  it('counts calls, failures and restarts per workload, and drops a removed workload\'s series', async () => {
    let workloads = [sample('a', 'running')];
    const ops = new Operations(() => workloads as never, labels);
    const meter = ops.meter('a');
    meter.called('onTimer', true, { durationMs: 2, memoryBytes: 65536 });
    meter.called('onTimer', false, { durationMs: 4, memoryBytes: 65536 });
    meter.failed('trap');
    meter.restarting('trap');
    let samples = parseExposition(await ops.metrics.metrics());
    expect(sampleValue(samples, 'wasmhost_workload_call_duration_seconds_count', { workload: 'a', export: 'on-timer' })).toBe(2);
    expect(sampleValue(samples, 'wasmhost_workload_call_duration_seconds_sum', { workload: 'a', export: 'on-timer' })).toBeCloseTo(0.006);
    expect(sampleValue(samples, 'wasmhost_workload_call_errors_total', { workload: 'a', export: 'on-timer' })).toBe(1);
    expect(sampleValue(samples, 'wasmhost_workload_failures_total', { workload: 'a', reason: 'trap' })).toBe(1);
    expect(sampleValue(samples, 'wasmhost_messages_sent_total', { workload: 'a', iothub: 'hub.example', edge_device: 'dev1', instance_number: 'i-1' })).toBe(7);
    workloads = [];
    samples = parseExposition(await ops.metrics.metrics());
    expect(samples.filter((s) => s.labels.workload === 'a')).toEqual([]);
    expect(sampleValue(samples, 'wasmhost_workloads')).toBe(0);
  });
});
