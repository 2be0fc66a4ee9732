// Hostile guests beside a healthy one (issue: containment). Each does one bad thing; the healthy
// neighbour keeps sending, the host's memory stays within the bound each test states, and the refusal
// shows in status or logs.
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createLogger } from '../../dist/ops/index.js';
import { validateDesired } from '../../dist/spec/index.js';
import type { OutboundMessage } from '../../dist/base/index.js';
import { freePort, tempDir, treeRssMb, waitFor } from '../helpers.js';
import { testSupervisor } from '../supervisor-harness.js';
import { MAX_PENDING_REQUESTS } from '../../dist/runtime/http-front.js';

const tmp = tempDir();
const sent: OutboundMessage[] = [];
const logLines: string[] = [];
const supervisor = testSupervisor(tmp.path, { sink: { send: (m) => sent.push(m) }, log: createLogger('info', (line) => logLines.push(line)) });
afterAll(async () => {
  await supervisor.shutdown();
  tmp.cleanup();
});

const status = (name: string) => supervisor.list().find((s) => s.name === name);
const sentBy = (name: string) => sent.filter((m) => m.workload === name);
/** The module's memory: this process and the runner process the workloads run in. */
const rssMb = () => treeRssMb();
const healthy = { source: 'file://echo.wasm', timerMs: 50 };
let specs: Record<string, unknown> = { healthy };
const add = (more: Record<string, unknown>) => {
  specs = { ...specs, ...more };
  return supervisor.apply(validateDesired({ schemaVersion: '1.0', workloads: specs }, { allowUnpinned: true }));
};
/** The healthy workload sends again after `since` (it was never held up by its neighbour). */
const healthySendsAfter = async (since: number) => {
  const before = sentBy('healthy').length;
  await waitFor('the healthy neighbour sending', () => sentBy('healthy').length > before + 5, 5000);
  expect(Date.now() - since).toBeLessThan(15_000);
};

beforeAll(async () => {
  await add({});
  await waitFor('healthy running', () => status('healthy')?.status === 'running');
});

describe('tables', () => {
  it('a guest growing its table by 10M entries is refused the growth (table.grow = -1) and lives on; the host stays within 150 MB more', async () => {
    const before = rssMb();
    const started = Date.now();
    await add({ 'table-grow': { source: 'file://table-grow.wasm', timerMs: 50 } });
    await waitFor('ticks from the table grower', () => sentBy('table-grow').length >= 10, 10_000);
    expect(new Set(sentBy('table-grow').map((m) => Buffer.from(m.msg.body as Uint8Array).toString()))).toEqual(new Set(['{"grown":false}']));
    expect(status('table-grow')?.status).toBe('running');
    await healthySendsAfter(started);
    expect(rssMb() - before).toBeLessThan(150);
  });

  it('a module declaring two 10M-entry tables is refused at start with a clear error, and not retried', async () => {
    const before = rssMb();
    await add({ 'big-tables': { source: 'file://big-tables.wasm', timerMs: 50 } });
    await waitFor('big-tables failed', () => status('big-tables')?.status === 'failed', 30_000); // its first compile (a transpiler process) took over 10 s once, in CI beside a soak
    expect(status('big-tables')?.lastError).toMatch(/table of 10000000 entries at start; the limit is 100000/);
    await healthySendsAfter(Date.now());
    expect(rssMb() - before).toBeLessThan(100);
  });
});

describe('results and errors that cannot cross', () => {
  it('a 24 MB on-method result is refused in the worker: the caller gets a coded error, the host does not copy it', async () => {
    await add({ 'big-result': { source: 'file://big-result.wasm', timerMs: 1000 } });
    await waitFor('big-result running', () => status('big-result')?.status === 'running');
    const before = rssMb();
    const started = Date.now();
    await expect(supervisor.invoke('big-result', 'dump', '')).rejects.toMatchObject({ code: 'WH_ERR_GUEST', message: 'onMethod result is 25165824 bytes; the limit is 131072' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(rssMb() - before).toBeLessThan(60);
    await healthySendsAfter(started);
  });

  it('a 1 MB error is cut before it crosses; the status shows its start', async () => {
    await waitFor('the cut error in the status', () => /^on-timer returned err: /.test(status('big-result')?.lastError ?? ''), 5000);
    expect(status('big-result')!.lastError!.length).toBeLessThanOrEqual(520);
    expect(logLines.some((l) => l.length > 10_000)).toBe(false);
  });
});

describe('imports', () => {
  it('a component importing an instance named constructor is refused before instantiation, naming it', async () => {
    await add({ 'proto-import': { source: 'file://proto-import.wasm', timerMs: 50 } });
    await waitFor('proto-import failed', () => status('proto-import')?.status === 'failed' || (status('proto-import')?.restarts ?? 0) > 0, 10_000);
    expect(status('proto-import')?.lastError).toMatch(/the component imports "constructor", which this host does not provide/);
    expect(sentBy('proto-import')).toEqual([]);
    await healthySendsAfter(Date.now());
  });
});

describe('reads and output of a command', () => {
  it('a 1 GiB pread of a 5-byte file reads 5 bytes; the host stays within 150 MB more (it was 2 GB)', async () => {
    const before = rssMb();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 20);
    await add({ 'big-read': { source: 'file://big-read.wasm', restartPolicy: 'never', capabilities: { storage: { quotaMb: 1 } } } });
    await waitFor('big-read done', () => status('big-read')?.status === 'stopped', 15_000);
    clearInterval(sampler);
    expect(sentBy('big-read').map((m) => Buffer.from(m.msg.body as Uint8Array).toString())).toEqual(['{"read":5}', '{"read":5}', '{"read":5}']);
    expect(peak - before).toBeLessThan(150);
  });

  it('a command flooding stderr for 3 s: its lines leave as it writes them, held to 200 a second, and the rest are counted; memory stays within 100 MB more', async () => {
    const before = rssMb();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 20);
    const started = Date.now();
    await add({ 'stderr-flood': { source: 'file://stderr-flood.wasm', restartPolicy: 'never' } });
    // Log lines reach the workload's log while the command still runs (not all at its end).
    await waitFor('flood lines in the log during the run', () => status('stderr-flood')?.status === 'running' && supervisor.logs('stderr-flood').filter((r) => r.text.startsWith('flood line')).length > 50, 10_000);
    await waitFor('stderr-flood done', () => status('stderr-flood')?.status === 'stopped', 20_000);
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    const logged = supervisor.logs('stderr-flood').filter((r) => r.text.startsWith('flood line')).length;
    expect(logged).toBeLessThanOrEqual(200 + 200 * seconds);
    const total = JSON.parse(Buffer.from(sentBy('stderr-flood')[0]!.msg.body as Uint8Array).toString()) as { lines: number };
    expect(total.lines).toBeGreaterThan(logged * 10);
    expect(logLines.some((l) => /\[workload=stderr-flood\] log refused \(budget\)/.test(l))).toBe(true);
    expect(peak - before).toBeLessThan(100);
    await healthySendsAfter(started);
  }, 30_000);

  it('a command printing a line a second delivers each line as it prints it', async () => {
    await add({ slow: { source: 'file://sleeper.wasm', args: ['4', '1000'], restartPolicy: 'never' } });
    // Lines that waited for the command's end would arrive once it is stopped; these arrive while it runs.
    await waitFor('two lines while it runs', () => sentBy('slow').length >= 2 && status('slow')?.status === 'running', 10_000);
    await waitFor('slow done', () => status('slow')?.status === 'stopped', 10_000);
    expect(sentBy('slow')).toHaveLength(4);
  });
});

describe('http clients', () => {
  it('a client sending its body a byte every 200 ms for 5 s (callTimeoutMs 1000) does not end the workload; others are served meanwhile; an oversize body gets 413', async () => {
    const port = await freePort();
    await add({ web: { source: 'file://http-echo.wasm', limits: { callTimeoutMs: 1000, memoryMb: 128 }, capabilities: { listen: { port } } } });
    await waitFor('web running', () => status('web')?.status === 'running', 60_000); // a cold compile of StarlingMonkey
    const slow = connect(port, '127.0.0.1');
    let slowAnswer = '';
    slow.on('data', (c: Buffer) => (slowAnswer += c.toString()));
    slow.write('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 25\r\n\r\n');
    for (let i = 0; i < 25; i++) {
      slow.write('x');
      if (i % 5 === 0) expect((await fetch(`http://127.0.0.1:${port}/fast`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
    }
    await waitFor('the slow client answered', () => slowAnswer.includes('"bytes":25'), 5000);
    expect(slowAnswer).toMatch(/^HTTP\/1\.1 200/);
    slow.destroy();
    expect(status('web')).toMatchObject({ status: 'running', restarts: 0, lastExitReason: null });
    // Answered 413 once the body passes the cap; the client may still be sending then and see the connection close.
    const big = await fetch(`http://127.0.0.1:${port}/big`, { method: 'POST', body: Buffer.alloc(17 * 1024 * 1024) }).then((r) => r.status, () => 'closed while sending');
    expect([413, 'closed while sending']).toContain(big);
    expect((await fetch(`http://127.0.0.1:${port}/after`)).status).toBe(200);
    expect(status('web')?.restarts).toBe(0);

    // A burst far past what the guest serves: the first MAX_PENDING_REQUESTS wait their turn, the rest
    // are told 503 at once (before, every one queued in the host for as long as the burst lasted).
    const burst = await Promise.all(Array.from({ length: 300 }, (_, i) => fetch(`http://127.0.0.1:${port}/burst/${i}`).then(async (r) => ({ status: r.status, retry: r.headers.get('retry-after'), text: await r.text() }))));
    const served = burst.filter((r) => r.status === 200).length;
    const refused = burst.filter((r) => r.status === 503);
    expect(served + refused.length).toBe(300);
    expect(served).toBeGreaterThanOrEqual(MAX_PENDING_REQUESTS);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]).toMatchObject({ retry: '1', text: expect.stringMatching(/busy: 64 requests wait/) });
    expect((await fetch(`http://127.0.0.1:${port}/after-burst`)).status).toBe(200);
    expect(status('web')).toMatchObject({ status: 'running', restarts: 0 });
  }, 120_000);
});

describe('storage quota', () => {
  const result = (name: string) => JSON.parse(Buffer.from(sentBy(name)[0]!.msg.body as Uint8Array).toString()) as { written?: number; made?: number; error: string };
  const dataDu = (name: string) => Number(execFileSync('du', ['-sk', join(tmp.path, 'workloads', name, 'data')], { encoding: 'utf8' }).split('\t')[0]) * 1024;

  it('writing on through an unlinked, still open file is charged: it stops at the 1 MB quota (it wrote 206 MB before)', async () => {
    await add({ unlinked: { source: 'file://unlinked.wasm', restartPolicy: 'never', capabilities: { storage: { quotaMb: 1 } } } });
    await waitFor('unlinked done', () => status('unlinked')?.status === 'stopped' || status('unlinked')?.status === 'failed', 20_000);
    expect(result('unlinked').error).toMatch(/quota/i);
    expect(result('unlinked').written).toBeLessThanOrEqual(1024 * 1024);
    expect(supervisor.logs('unlinked').some((r) => /storage refused \(quota\)/.test(r.text))).toBe(true);
  });

  it('20,000 empty directories are charged their blocks: it stops near the 1 MB quota (79 MB before)', async () => {
    await add({ dirs: { source: 'file://dirs.wasm', restartPolicy: 'never', capabilities: { storage: { quotaMb: 1 } } } });
    await waitFor('dirs done', () => status('dirs')?.status === 'stopped' || status('dirs')?.status === 'failed', 30_000);
    expect(result('dirs').error).toMatch(/quota/i);
    expect(result('dirs').made).toBeLessThan(300);
    expect(dataDu('dirs')).toBeLessThanOrEqual(1.5 * 1024 * 1024);
    await healthySendsAfter(Date.now());
  });
});

describe('working directory', () => {
  it("a guest starts in its own /data (or /), never in the host's working directory", async () => {
    await add({ 'cwd-data': { source: 'file://cwd.wasm', capabilities: { storage: { quotaMb: 1 } } }, 'cwd-none': { source: 'file://cwd.wasm' } });
    await waitFor('both running', () => status('cwd-data')?.status === 'running' && status('cwd-none')?.status === 'running');
    expect(await supervisor.invoke('cwd-data', 'cwd', '')).toBe('/data');
    expect(await supervisor.invoke('cwd-none', 'cwd', '')).toBe('/');
  });
});
