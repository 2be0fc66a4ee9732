// What an http workload's requests leave behind (issue: runs for months). preview2-shim keeps each
// request's body stream, and Node's IncomingMessage with it, in its I/O thread until the stream is
// dropped; a guest that never reads the body never made that stream, and ~2.7 KB a request stayed for
// good (+38-48 MB an hour in the soak). The structure that grew is counted in the I/O thread's own
// heap after 400 requests whose bodies no guest read (in a process of its own, as in a workload).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

it("leaves no request behind in the shim's I/O thread: 400 GETs whose bodies the guest never read", () => {
  const probe = spawnSync(process.execPath, [join(ROOT, 'test-support/io-thread-probe.mjs'), '400'], { encoding: 'utf8', timeout: 60_000 });
  expect(probe.status).toBe(0);
  const result = JSON.parse(probe.stdout.trim().split('\n').at(-1)!) as { served: number; statuses: number[]; incomingMessages: number };
  expect(result.served).toBe(400);
  expect(result.statuses).toEqual([204]);
  expect(result.incomingMessages).toBeLessThan(10); // was one per request
}, 60_000);
