// Reconciling never makes one workload wait for another, and a command's run has no call deadline.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Engine } from '../../dist/runtime/index.js';
import { Fetcher } from '../../dist/fetch/index.js';
import { createLogger } from '../../dist/ops/index.js';
import { validateDesired } from '../../dist/spec/index.js';
import type { OutboundMessage } from '../../dist/base/index.js';
import { Supervisor } from '../../dist/supervisor/index.js';
import { CLI, GUESTS, guestPath, tempDir, waitFor } from '../helpers.js';

const tmp = tempDir();
const sent: OutboundMessage[] = [];
const supervisor = new Supervisor({
  engine: new Engine(join(tmp.path, 'compiled')),
  fetcher: new Fetcher({ dataDir: tmp.path, fileBase: GUESTS, fileRoots: [GUESTS], maxBytes: 64 * 1024 * 1024, allowHttp: true, retry: { attempts: 4, baseMs: 50 } }),
  dataDir: tmp.path,
  sink: { send: (m) => sent.push(m) },
  log: createLogger('info', () => undefined),
});
// A source server that sends its headers, then one byte every 100 ms: a pull that takes minutes.
let trickle: Server;
let trickleUrl = '';
beforeAll(async () => {
  trickle = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/wasm', 'content-length': '100000' });
    const timer = setInterval(() => res.write(Buffer.from([0])), 100);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => trickle.listen(0, '127.0.0.1', r));
  trickleUrl = `http://127.0.0.1:${(trickle.address() as AddressInfo).port}/slow.wasm`;
});
afterAll(async () => {
  await supervisor.shutdown();
  trickle.closeAllConnections();
  await new Promise((r) => trickle.close(r));
  tmp.cleanup();
});

const desired = (workloads: Record<string, unknown>) => validateDesired({ schemaVersion: '1.0', workloads }, { allowUnpinned: true });
const status = (name: string) => supervisor.list().find((s) => s.name === name);
const ticks = (workload: string) => sent.filter((m) => m.workload === workload).length;

it('a workload whose source trickles does not delay adding or updating another', async () => {
  const echo = { source: 'file://echo.wasm', timerMs: 50 };
  await supervisor.apply(desired({ slow: echo, steady: { ...echo, config: { v: '1' } } }), 1);
  await waitFor('both running', () => status('slow')?.status === 'running' && status('steady')?.status === 'running');
  void supervisor.apply(desired({ slow: { ...echo, source: trickleUrl }, steady: { ...echo, config: { v: '1' } } }), 2);
  await new Promise((r) => setTimeout(r, 300));

  let started = Date.now();
  void supervisor.apply(desired({ slow: { ...echo, source: trickleUrl }, steady: { ...echo, config: { v: '1' } }, added: echo }), 3);
  await waitFor('the added workload sending', () => ticks('added') > 0, 2000);
  expect(Date.now() - started).toBeLessThan(2000);

  started = Date.now();
  void supervisor.apply(desired({ slow: { ...echo, source: trickleUrl }, steady: { ...echo, config: { v: '2' } }, added: echo }), 4);
  await waitFor('the updated workload running', () => status('steady')?.desiredVersion === 4 && status('steady')?.status === 'running', 2000);
  const before = ticks('steady');
  await waitFor('the updated workload sending', () => ticks('steady') > before, 2000);
  expect(Date.now() - started).toBeLessThan(2000);

  // The slow one's old version serves on while its update still pulls.
  expect(status('slow')).toMatchObject({ status: 'running', desiredVersion: 1 });
}, 30_000);

it('a command running 30 s with callTimeoutMs 2000 runs to its end, in the host and under wasmhost run', async () => {
  const cli = new Promise<{ code: number | null; stdout: string }>((resolve) => {
    execFile(process.execPath, [CLI, 'run', guestPath('sleeper'), '--', '30', '1000'], { timeout: 60_000 }, (err, stdout) => resolve({ code: err ? (err.code as number | null) ?? null : 0, stdout }));
  });
  void supervisor.apply(desired({ long: { source: 'file://sleeper.wasm', args: ['30', '1000'], restartPolicy: 'never', limits: { callTimeoutMs: 2000 } } }), 5);
  await waitFor('the command finished', () => status('long')?.status === 'stopped' && status('long')?.lastExitCode === 0, 50_000);
  expect(status('long')?.lastExitReason).toBe('exit');
  const lines = sent.filter((m) => m.workload === 'long').map((m) => JSON.parse(Buffer.from(m.msg.body as Uint8Array).toString()) as { line: number });
  expect(lines.map((l) => l.line)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  const run = await cli;
  expect(run.code).toBe(0);
  expect(run.stdout.trim().split('\n')).toHaveLength(30);
}, 70_000);
