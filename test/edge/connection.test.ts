// The SDK does not retry its first open (field notes): wasmhost must, so that a module that starts
// before edgeHub (as after every device boot) still comes up.
import { EdgeHubEmulator } from '../../test-support/edgehub/emulator.mjs';
import { tempDir, waitFor } from '../helpers.js';
import { startModule, type ModuleProcess } from '../module-process.js';

const tmp = tempDir();
let hub: EdgeHubEmulator;
let module: ModuleProcess | undefined;

afterAll(async () => {
  await module?.stop();
  await hub.close();
  tmp.cleanup();
});

it('retries the first connection with backoff until edgeHub is up', async () => {
  hub = await EdgeHubEmulator.start();
  await hub.setDesired({ schemaVersion: '1.0', workloads: {} });
  await hub.stop(); // the port is known, nothing listens yet
  module = startModule({ ...hub.env(), WASMHOST_DATA_DIR: tmp.path });
  const delays = () => [...module!.logs().matchAll(/cannot connect to edgeHub .*retrying in (\d+) ms/g)].map((m) => Number(m[1]));
  await waitFor('two failed attempts', () => delays().length >= 2, 20_000);
  // 1 s doubling (with +-20% jitter): the second wait is longer than the first.
  expect(delays()[0]).toBeGreaterThanOrEqual(800);
  expect(delays()[0]).toBeLessThanOrEqual(1200);
  expect(delays()[1]!).toBeGreaterThan(delays()[0]!);
  await hub.listen();
  const [, attempts] = await module.waitForLog(/connected to edgeHub after (\d+) attempts/);
  expect(Number(attempts)).toBeGreaterThanOrEqual(3);
  await waitFor('reported host', () => hub.reported.host?.appliedDesiredVersion === hub.desired.$version);
  expect(hub.reported.host?.appliedDesiredVersion).toBe(hub.desired.$version);
}, 60_000);

it('restarted with the network gone (no edgeHub, no registry), runs the cached workloads of the last desired state', async () => {
  const { startRegistry } = await import('../../test-support/registry.mjs');
  const { CLI, guestBytes, guestPath } = await import('../helpers.js');
  const { execFile } = await import('node:child_process');
  const registry = await startRegistry();
  const data = tempDir();
  try {
    await new Promise((resolve, reject) => execFile(process.execPath, [CLI, 'push', guestPath('echo'), `oci://${registry.host}/wasm/echo:1.0`], (err) => (err ? reject(err) : resolve(undefined))));
    const offlineHub = await EdgeHubEmulator.start();
    await offlineHub.setDesired({ schemaVersion: '1.0', workloads: { cached: { source: `oci://${registry.host}/wasm/echo:1.0`, sha256: guestBytes('echo').digest, timerMs: 100 } } });
    const env = { ...offlineHub.env(), WASMHOST_DATA_DIR: data.path };
    const first = startModule(env);
    await waitFor('cached workload sending', () => offlineHub.outputs.some((o) => o.properties.workload === 'cached'), 30_000);
    expect(await first.stop()).toBe(0);

    await registry.stop();
    await offlineHub.stop(); // edgeHub and the registry are both gone
    const second = startModule(env);
    await second.waitForLog(/\[workload=cached\] running/);
    expect(second.logs()).toMatch(/applying the last desired state \(version \d+\) until the twin is read/);
    expect(second.logs()).toMatch(/cannot connect to edgeHub/);
    expect(await second.stop()).toBe(0);
    await offlineHub.close();
  } finally {
    data.cleanup();
  }
}, 90_000);
