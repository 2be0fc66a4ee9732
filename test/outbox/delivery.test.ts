// Telemetry that is never lost: the edgeHub emulator in its own process, killed with SIGKILL and
// started again; the module killed mid-stream and started again; the outbox cap reached.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { CLI, ROOT, guestBytes, guestPath, tempDir, waitFor } from '../helpers.js';

const EMULATOR = join(ROOT, 'test-support', 'edgehub', 'process.mjs');
type Arrival = { id: string; workload: string; output: string; body: string };

/** Records of newline-terminated lines; a torn line (a writer killed mid-append) is skipped. */
function completeJsonLines<T>(text: string): T[] {
  return text.split('\n').slice(0, -1).flatMap((l) => { try { return [JSON.parse(l) as T]; } catch { return []; } });
}

function harness(workloads: Record<string, unknown>) {
  const tmp = tempDir();
  const data = join(tmp.path, 'data');
  mkdirSync(join(data, 'wasm'), { recursive: true });
  for (const g of ['counter', 'burst']) copyFileSync(guestPath(g), join(data, 'wasm', `${g}.wasm`));
  const desiredFile = join(tmp.path, 'desired.json');
  writeFileSync(desiredFile, JSON.stringify({ schemaVersion: '1.0', workloads }));
  const record = join(tmp.path, 'arrived.jsonl');
  let port = 0;
  let env: Record<string, string> = {};
  const procs: ChildProcess[] = [];
  return {
    tmp, data,
    async startHub(): Promise<ChildProcess> {
      const hub = spawn(process.execPath, [EMULATOR, String(port), tmp.path, desiredFile, record], { stdio: ['ignore', 'pipe', 'inherit'] });
      procs.push(hub);
      const lines = createInterface({ input: hub.stdout! });
      const it = lines[Symbol.asyncIterator]();
      port = Number(/ready (\d+)/.exec((await it.next()).value as string)![1]);
      env = JSON.parse((await it.next()).value as string);
      return hub;
    },
    startModule(extra: Record<string, string> = {}): ChildProcess & { out: string } {
      const child = spawn(process.execPath, [CLI, 'start'], { env: { PATH: process.env.PATH, ...env, WASMHOST_DATA_DIR: data, ...extra }, stdio: ['ignore', 'pipe', 'inherit'] }) as ChildProcess & { out: string };
      child.out = '';
      child.stdout!.on('data', (c: Buffer) => (child.out += c.toString()));
      procs.push(child);
      return child;
    },
    arrived(): Arrival[] {
      if (!existsSync(record)) return [];
      // Complete lines only: the hub may be mid-append, or was killed mid-append (never acknowledged).
      return completeJsonLines<Arrival>(readFileSync(record, 'utf8'));
    },
    /** Every record id written to the module's outboxes (each one a send that returned ok). */
    outboxIds(): string[] {
      const root = join(data, 'outbox');
      if (!existsSync(root)) return [];
      return readdirSync(root).flatMap((w) => readdirSync(join(root, w)).flatMap((i) =>
        readdirSync(join(root, w, i)).filter((f) => f.endsWith('.seg')).flatMap((f) =>
          completeJsonLines<{ i: string }>(readFileSync(join(root, w, i, f), 'utf8')).map((r) => r.i))));
    },
    async cleanup() {
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      tmp.cleanup();
    },
  };
}

/** 500 messages per 50 ms tick: 10k msg/s, enough to have thousands in the outbox at any moment. */
const burstWorkload = () => ({ source: 'file://wasm/burst.wasm', sha256: guestBytes('burst').digest, timerMs: 50, limits: { messagesPerSecond: 100_000 } });
const exit = (p: ChildProcess) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(p.exitCode) : p.once('exit', r)));
const counts = (arrivals: Arrival[], workload: string) => arrivals.filter((a) => a.workload === workload).map((a) => (JSON.parse(a.body) as { n: number }).n);
const allArrived = (arrivals: Arrival[], ids: string[]) => {
  const seen = new Set(arrivals.map((a) => a.id));
  return ids.every((id) => seen.has(id));
};
const duplicates = (arrivals: Arrival[]) => arrivals.length - new Set(arrivals.map((a) => a.id)).size;

it('edgeHub killed (SIGKILL) for 10 s and started again: every message sent ok arrives at least once', async () => {
  const counter = { source: 'file://wasm/counter.wasm', sha256: guestBytes('counter').digest, timerMs: 20 };
  const h = harness({ c1: counter, c2: counter });
  try {
    let hub = await h.startHub();
    const module = h.startModule();
    await waitFor('streaming', () => counts(h.arrived(), 'c1').length > 50 && counts(h.arrived(), 'c2').length > 50, 30_000);
    hub.kill('SIGKILL');
    await exit(hub);
    const atKill = h.arrived().length;
    await new Promise((r) => setTimeout(r, 10_000));
    hub = await h.startHub();
    await waitFor('the backlog delivered', () => h.arrived().length > atKill + 2 * 500, 40_000);
    module.kill('SIGTERM');
    expect(await exit(module)).toBe(0);
    const arrivals = h.arrived();
    for (const w of ['c1', 'c2']) {
      const seen = new Set(counts(arrivals, w));
      const max = Math.max(...seen);
      const missing = Array.from({ length: max }, (_, i) => i + 1).filter((n) => !seen.has(n));
      expect(missing).toEqual([]); // no gap: nothing lost, outage or not
      expect(max).toBeGreaterThan(500);
    }
    console.log(`edgeHub outage: ${arrivals.length} arrivals, ${duplicates(arrivals)} duplicates (at-least-once)`);
    expect(h.outboxIds()).toEqual([]); // all sent: the outboxes are gone
    hub.kill('SIGTERM');
  } finally {
    await h.cleanup();
  }
}, 120_000);

it('module killed (SIGKILL) mid-stream and started again: the outbox is replayed', async () => {
  const h = harness({ b: burstWorkload() });
  try {
    await h.startHub();
    const first = h.startModule();
    await waitFor('streaming', () => h.arrived().length > 2000, 30_000);
    first.kill('SIGKILL');
    await exit(first);
    const accepted = h.outboxIds(); // every record here was a send that returned ok
    expect(accepted.length).toBeGreaterThan(0);
    const second = h.startModule();
    await waitFor('every accepted message arrived', () => allArrived(h.arrived(), accepted), 40_000);
    expect(second.out).toMatch(/outbox: replaying \d+ unsent bytes/);
    console.log(`module kill: ${accepted.length} messages were in the outbox, ${duplicates(h.arrived())} duplicates`);
    second.kill('SIGTERM');
    expect(await exit(second)).toBe(0);
  } finally {
    await h.cleanup();
  }
}, 120_000);

it('outbox cap reached while edgeHub is down: sends get backpressure; what was accepted still arrives', async () => {
  const h = harness({ b: burstWorkload() });
  try {
    let hub = await h.startHub();
    const module = h.startModule({ WASMHOST_OUTBOX_MAX_MB: '1' });
    await waitFor('streaming', () => h.arrived().length > 500, 30_000);
    hub.kill('SIGKILL');
    await exit(hub);
    await waitFor('backpressure', () => /\[workload=b\] telemetry refused \(backpressure\)/.test(module.out), 30_000);
    const accepted = h.outboxIds();
    hub = await h.startHub();
    await waitFor('every accepted message arrived', () => allArrived(h.arrived(), accepted), 40_000);
    module.kill('SIGTERM');
    expect(await exit(module)).toBe(0);
    hub.kill('SIGTERM');
  } finally {
    await h.cleanup();
  }
}, 120_000);
