// Races an operator meets, tried as one would: the module as its own process against the edgeHub
// emulator, every core kept busy, restarts, stop/start and config patches over and over on a ticking
// handler, a command and an http workload at once; and a desired patch that arrives during a twin read.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeHubEmulator } from '../../test-support/edgehub/emulator.mjs';
import { freePort, guestBytes, guestPath, tempDir, waitFor } from '../helpers.js';
import { busyCores, startModule, tearDown, type ModuleProcess } from '../module-process.js';

const CYCLES = Number(process.env.WASMHOST_RACE_CYCLES ?? 50);
/** After each cycle the workload's telemetry must arrive within this (the bound). */
const ARRIVAL_MS = 3000;

type Listed = { name: string; status: string; desiredVersion: number | null };

function setupDataDir(path: string): void {
  mkdirSync(join(path, 'wasm'), { recursive: true });
  for (const guest of ['echo', 'sleeper', 'http-echo']) copyFileSync(guestPath(guest), join(path, 'wasm', `${guest}.wasm`));
}

describe('operator cycles under load (IoT Edge mode)', () => {
  const tmp = tempDir();
  let hub: EdgeHubEmulator;
  let module: ModuleProcess;
  let webPort = 0;
  let stopBusy: (() => Promise<void>) | undefined;

  const specs = (v: string) => ({
    tick: { source: 'file://wasm/echo.wasm', sha256: guestBytes('echo').digest, timerMs: 50, config: { v } },
    cmd: { source: 'file://wasm/sleeper.wasm', sha256: guestBytes('sleeper').digest, args: ['1000000', '100'], restartPolicy: 'always', config: { v } },
    web: { source: 'file://wasm/http-echo.wasm', sha256: guestBytes('http-echo').digest, capabilities: { listen: { port: webPort } }, config: { v } },
  });

  beforeAll(async () => {
    setupDataDir(tmp.path);
    webPort = await freePort();
    hub = await EdgeHubEmulator.start();
    await hub.setDesired({ schemaVersion: '1.0', workloads: specs('0') });
    module = startModule({ ...hub.env(), WASMHOST_DATA_DIR: tmp.path, WASMHOST_METRICS_PORT: '0' });
    await waitFor('the twin applied', () => hub.reported.host?.appliedDesiredVersion === hub.desired.$version, 30_000);
  }, 60_000);

  afterAll(() => tearDown({ stopBusy, module, hub, tmp }));

  const arrived = (name: string) => hub.outputs.filter((o) => o.properties.workload === name).length;
  const listed = async (name: string): Promise<Listed | undefined> => ((await hub.invokeMethod('listWorkloads')).payload as Listed[]).find((w) => w.name === name);
  const method = async (name: string, workload: string) => expect(await hub.invokeMethod(name, { name: workload })).toMatchObject({ status: 200 });

  /** Something that makes `name` send: handlers and commands send by themselves, the http one per request. */
  const poke = async (name: string) => {
    if (name === 'web') await fetch(`http://127.0.0.1:${webPort}/cycle`).then((r) => r.text()).catch(() => undefined);
  };

  /** Once the workload runs (again), its telemetry must reach edgeHub within ARRIVAL_MS. */
  async function arrivesAfter(name: string, what: string, desiredVersion?: number): Promise<void> {
    const started = Date.now();
    await waitFor(`${name} running after ${what}`, async () => {
      const w = await listed(name);
      return w?.status === 'running' && (desiredVersion === undefined || w.desiredVersion === desiredVersion);
    }, 20_000);
    const before = arrived(name);
    const running = Date.now();
    await waitFor(`${name}'s telemetry after ${what} (${running - started} ms to run)`, async () => {
      await poke(name);
      return arrived(name) > before;
    }, ARRIVAL_MS);
  }

  it('every workload sends before the load starts', async () => {
    for (const name of ['tick', 'cmd', 'web']) await arrivesAfter(name, 'start');
  }, 90_000);

  it(`${CYCLES} restarts, stop+starts and config patches each, with every core busy: telemetry after every cycle, no send refused for io`, async () => {
    stopBusy = busyCores();
    let version = hub.desired.$version as number;
    let patches = Promise.resolve();
    /** Config patches go one at a time (each is one twin version), for the three workloads in turn. */
    const patch = (name: string, v: string) => (patches = patches.then(async () => {
      version = await hub.patchDesired({ workloads: { [name]: { config: { v } } } });
    })).then(() => version);
    await Promise.all(['tick', 'cmd', 'web'].map(async (name) => {
      for (let i = 1; i <= CYCLES; i++) {
        await method('restartWorkload', name);
        await arrivesAfter(name, `restart ${i}`);
        await method('stopWorkload', name);
        expect((await listed(name))?.status).toBe('stopped');
        await method('startWorkload', name);
        await arrivesAfter(name, `stop+start ${i}`);
        const v = await patch(name, `${name}-${i}`);
        await arrivesAfter(name, `config patch ${i}`, v);
      }
    }));
    await stopBusy();
    stopBusy = undefined;
    expect(module.logs()).not.toMatch(/refused \(io\)|outbox write failed|ENOENT/);
    for (const name of ['tick', 'cmd', 'web']) expect((await listed(name))?.status).toBe('running');
  }, 600_000);
});

describe('a desired patch during the twin read', () => {
  const tmp = tempDir();
  let hub: EdgeHubEmulator;
  let module: ModuleProcess;

  afterAll(async () => {
    await module.stop();
    await hub.close();
    tmp.cleanup();
  });

  it('is applied once the read ends, without any later patch', async () => {
    setupDataDir(tmp.path);
    const echo = { source: 'file://wasm/echo.wasm', sha256: guestBytes('echo').digest, timerMs: 100 };
    hub = await EdgeHubEmulator.start();
    await hub.setDesired({ schemaVersion: '1.0', workloads: { first: echo } });
    hub.twinGetDelayMs = 2000;
    module = startModule({ ...hub.env(), WASMHOST_DATA_DIR: tmp.path, WASMHOST_METRICS_PORT: '0' });
    await waitFor('the twin GET under way', () => hub.twinGets > 0, 30_000);
    const version = await hub.patchDesired({ workloads: { second: echo } });
    await waitFor('the patched-in workload sending', () => hub.outputs.some((o) => o.properties.workload === 'second'), 15_000);
    await waitFor('the patch reported applied', () => hub.reported.host?.appliedDesiredVersion === version, 10_000);
    await waitFor('the first workload sending', () => hub.outputs.some((o) => o.properties.workload === 'first'), 5_000).catch((err: Error) => { throw new Error(`${err.message}\n${module.logs()}`); });
    expect(hub.twinGets).toBe(1); // applied from the held patch, not from a second read
  }, 60_000);
});
