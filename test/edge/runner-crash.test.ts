// What cannot be prevented is survived: workloads run in a runner process, and a V8 fatal error there
// (reproduced with SIGABRT, as the field notes say) ends that process, never the host. The module in
// its own process against the edgeHub emulator, every core kept busy.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeHubEmulator } from '../../test-support/edgehub/emulator.mjs';
import { guestBytes, guestPath, processTree, tempDir, waitFor } from '../helpers.js';
import { busyCores, startModule, tearDown, type ModuleProcess } from '../module-process.js';

/** The bound: every other workload sends again within this after the runner dies. */
const BACK_WITHIN_MS = 5000;

type Listed = { name: string; status: string; restarts: number; lastExitReason: string | null; lastError: string | null };

const tmp = tempDir();
const dataDir = join(tmp.path, 'data');
let hub: EdgeHubEmulator;
let module: ModuleProcess;
let stopBusy: (() => Promise<void>) | undefined;
const arrivals: Array<{ workload: string; messageId: string; at: number }> = [];

const pinned = (guest: string, over: Record<string, unknown>) => ({ source: `file://wasm/${guest}.wasm`, sha256: guestBytes(guest).digest, ...over });

beforeAll(async () => {
  mkdirSync(join(dataDir, 'wasm'), { recursive: true });
  for (const guest of ['counter', 'loop']) copyFileSync(guestPath(guest), join(dataDir, 'wasm', `${guest}.wasm`));
  hub = await EdgeHubEmulator.start();
  hub.onOutput((m: { properties: Record<string, string>; messageId: string }) => arrivals.push({ workload: m.properties.workload!, messageId: m.messageId, at: Date.now() }));
  await hub.setDesired({
    schemaVersion: '1.0',
    workloads: {
      // Always inside a call (on-timer never returns, and its deadline is far away): the one a crash is pinned on.
      busy: pinned('loop', { timerMs: 100, limits: { callTimeoutMs: 600_000 } }),
      a: pinned('counter', { timerMs: 50 }),
      b: pinned('counter', { timerMs: 50 }),
      // Never called (no timer, no inputs): never in the guest when the runner dies, so a bystander.
      idle: pinned('counter', {}),
    },
  });
  module = startModule({ ...hub.env(), WASMHOST_DATA_DIR: dataDir, WASMHOST_METRICS_PORT: '0' });
  await waitFor('both counters sending', () => ['a', 'b'].every((w) => arrivals.some((m) => m.workload === w)), 30_000);
  // busy must be inside its endless on-timer when the runner dies: running, and past its first tick
  // (under a full suite on busy cores its compile can finish well after the counters').
  await waitFor('busy running', async () => (await listed()).find((w) => w.name === 'busy')?.status === 'running', 30_000);
  await new Promise((r) => setTimeout(r, 500));
}, 90_000);

afterAll(() => tearDown({ stopBusy, module, hub, tmp }));

const listed = async (): Promise<Listed[]> => (await hub.invokeMethod('listWorkloads')).payload as Listed[];

/** The runner: the module's one child process running the runner's entry (a transpiler may run beside it). */
function runnerPid(): number {
  const children = processTree(module.child.pid!).slice(1).map((pid) => ({ pid: pid!, cmdline: cmdline(pid!) }));
  const runners = children.filter((c) => c.cmdline.includes('runner/main.js'));
  if (runners.length !== 1) throw new Error(`${runners.length} runner processes among the module's: ${JSON.stringify(children)}\nits last log lines:\n${module.logs().split('\n').slice(-40).join('\n')}`);
  return runners[0]!.pid;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '(gone)';
  }
}

/** Message ids in a workload's outbox folders on disk (what was accepted and not yet removed). */
function outboxIds(workload: string): string[] {
  const root = join(dataDir, 'outbox', workload);
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((instance) =>
    readdirSync(join(root, instance))
      .filter((f) => f.endsWith('.seg'))
      .flatMap((seg) => readFileSync(join(root, instance, seg), 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { i: string }).i)),
  );
}

describe('a runner process that dies (SIGABRT, as a V8 fatal error does)', () => {
  it('leaves the host running: the workload that was in a call is reported crash and backs off, the others send again within 5 s', async () => {
    stopBusy = busyCores();
    const runner = runnerPid();
    const killedAt = Date.now();
    process.kill(runner, 'SIGABRT');

    for (const name of ['a', 'b']) {
      const back = await waitFor(`${name} sending again`, () => arrivals.find((m) => m.workload === name && m.at > killedAt + 50), BACK_WITHIN_MS + 5000);
      expect(back.at - killedAt).toBeLessThan(BACK_WITHIN_MS);
    }
    expect(module.child.exitCode).toBeNull();
    expect(runnerPid()).not.toBe(runner); // a new runner serves them

    const busy = await waitFor('busy reported crash', async () => (await listed()).find((w) => w.name === 'busy' && w.lastExitReason === 'crash'));
    expect(busy.restarts).toBeGreaterThanOrEqual(1);
    expect(busy.lastError).toMatch(/crash: the runner process ended \(SIGABRT\)/);
    // Calls posted to the runner and not yet answered count as in the guest: a and b may be blamed too
    // (with ticks every 50 ms on busy cores, they often are); their first backoff is 1 s, within the bound.
    // A workload with no call in flight is a bystander: started again at once, no failure counted.
    const idle = await waitFor('idle running again', async () => (await listed()).find((w) => w.name === 'idle' && w.status === 'running'));
    expect(idle).toMatchObject({ restarts: 0, lastExitReason: null, lastError: null });
    expect(module.logs()).toMatch(/restarting at once: the runner process ended \(SIGABRT\) while this workload was idle/);
    await stopBusy();
    stopBusy = undefined;
  }, 60_000);

  it('loses nothing accepted: with edgeHub away, every message in the outboxes at the crash arrives once edgeHub is back', async () => {
    await hub.stop();
    await new Promise((r) => setTimeout(r, 1500)); // telemetry piles up in the outboxes
    const runner = runnerPid();
    process.kill(runner, 'SIGABRT');
    await waitFor('the runner gone', () => !processTree(module.child.pid!).includes(runner));
    const accepted = [...outboxIds('a'), ...outboxIds('b')];
    expect(accepted.length).toBeGreaterThan(20);
    await hub.listen();
    await waitFor('every accepted message delivered', () => {
      const delivered = new Set(arrivals.map((m) => m.messageId));
      return accepted.every((id) => delivered.has(id));
    }, 30_000);
    expect(module.child.exitCode).toBeNull();
  }, 60_000);
});
