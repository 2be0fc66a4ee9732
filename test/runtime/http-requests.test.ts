// What an http workload's requests leave behind (issue: runs for months). preview2-shim keeps each
// request's body stream, and Node's IncomingMessage with it, in its I/O thread until the stream is
// dropped; a guest that never reads the body never made that stream, and ~2.7 KB a request stayed for
// good (+38-48 MB an hour in the soak). The structure that grew is counted in the I/O thread's own
// heap after 400 requests whose bodies no guest read (in a process of its own, as in a workload).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Engine, NO_HEAP, type HeapReport } from '../../dist/runtime/index.js';
import { IO_THREAD_LIMITS } from '../../dist/runtime/worker/shim-threads.js';
import { guestBytes, ROOT, tempDir, waitFor } from '../helpers.js';

it("leaves no request behind in the shim's I/O thread: 400 GETs whose bodies the guest never read; the thread's heap is bounded and reported", () => {
  const probe = spawnSync(process.execPath, [join(ROOT, 'test-support/io-thread-probe.mjs'), '400'], { encoding: 'utf8', timeout: 60_000 });
  expect(probe.status).toBe(0);
  const result = JSON.parse(probe.stdout.trim().split('\n').at(-1)!) as { served: number; statuses: number[]; incomingMessages: number; heapLimitMb: number; heapBefore: HeapReport; heapAfter: HeapReport };
  expect(result.served).toBe(400);
  expect(result.statuses).toEqual([204]);
  expect(result.incomingMessages).toBeLessThan(10); // was one per request
  // Unbounded, V8 sized the thread's old generation for a process and let request garbage pile up for hours.
  expect(result.heapLimitMb).toBe(IO_THREAD_LIMITS.maxOldGenerationSizeMb);
  // Its preload reports the thread's heap to the workload's worker (which adds it to its own report):
  // nothing before the thread starts, an isolate's worth (MBs) after.
  expect(result.heapBefore).toEqual(NO_HEAP);
  expect(result.heapAfter.usedBytes).toBeGreaterThan(1024 * 1024);
  expect(result.heapAfter.committedBytes).toBeGreaterThanOrEqual(result.heapAfter.usedBytes);
}, 60_000);

describe('http instances', () => {
  const tmp = tempDir();
  const engine = new Engine(join(tmp.path, 'compiled'));
  afterAll(async () => {
    await engine.close();
    tmp.cleanup();
  });

  async function serve(guest: string) {
    const { bytes, digest } = guestBytes(guest);
    const failed: string[] = [];
    const instance = await engine.start(await engine.compile(bytes, digest), {
      workload: guest, memoryMb: 64, callTimeoutMs: 2000, messagesPerSecond: 1000, maxMessageBytes: 4096, config: {}, env: {}, args: [],
      preopens: {}, allowedHosts: [], kvDir: undefined, listen: { port: 0, host: '127.0.0.1' },
    }, { effects: () => undefined, stdout: () => undefined, stderr: () => undefined, ended: () => undefined, requestFailed: (e) => failed.push(e) });
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${instance.httpPort}${path}`);
      return { status: res.status, body: await res.text() };
    };
    return { instance, get, failed };
  }

  it('keep serving from one instance when the guest exports the handler itself; a failure gets a fresh one', async () => {
    const { instance, get, failed } = await serve('http-hello');
    expect([(await get('/a')).body, (await get('/b')).body, (await get('/c')).body]).toEqual(['served 1', 'served 2', 'served 3']);
    expect((await get('/trap')).status).toBe(500);
    expect(await waitFor('the failure reported', () => failed.length > 0 && failed)).toEqual([expect.stringMatching(/trap|unreachable/)]);
    expect((await get('/d')).body).toBe('served 1'); // a fresh instance after the trap
    expect((await get('/e')).body).toBe('served 2');
    await instance.stop();
  });

  it('make a fresh instance per request for a StarlingMonkey (componentize-js) guest, which cannot take a second', async () => {
    const { instance, get } = await serve('http-echo');
    for (const path of ['/1', '/2', '/3']) expect(JSON.parse((await get(path)).body)).toMatchObject({ method: 'GET', path });
    await instance.stop();
  });
});
