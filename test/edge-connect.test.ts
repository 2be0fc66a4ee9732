// The SDK does not retry its first open (field notes): wasmhost must, so that a module that starts
// before edgeHub (as after every device boot) still comes up.
import { spawn, type ChildProcess } from 'node:child_process';
import { EdgeHubEmulator } from '../test-support/edgehub/emulator.mjs';
import { CLI, tempDir, waitFor } from './helpers.js';

const tmp = tempDir();
let hub: EdgeHubEmulator;
let module: ChildProcess;
let logs = '';

afterAll(async () => {
  if (module && module.exitCode === null) {
    module.kill('SIGTERM');
    await new Promise((r) => module.once('exit', r));
  }
  await hub.close();
  tmp.cleanup();
});

it('retries the first connection with backoff until edgeHub is up', async () => {
  hub = await EdgeHubEmulator.start();
  await hub.setDesired({ schemaVersion: '1.0', workloads: {} });
  await hub.stop(); // the port is known, nothing listens yet
  module = spawn(process.execPath, [CLI, 'start'], { env: { PATH: process.env.PATH, ...hub.env(), WASMHOST_DATA_DIR: tmp.path }, stdio: ['ignore', 'pipe', 'pipe'] });
  module.stdout!.on('data', (c: Buffer) => (logs += c.toString()));
  await waitFor('a failed attempt', () => /cannot connect to edgeHub .*retrying in \d+ ms/.test(logs), 20_000);
  await hub.listen();
  await waitFor('connected', () => /connected to edgeHub after \d+ attempts/.test(logs), 30_000);
  await waitFor('reported host', () => hub.reported.host?.appliedDesiredVersion === hub.desired.$version);
}, 60_000);

it('restarted with the network gone (no edgeHub, no registry), runs the cached workloads of the last desired state', async () => {
  const { startRegistry } = await import('../test-support/registry.mjs');
  const { guestBytes, guestPath } = await import('./helpers.js');
  const { execFile } = await import('node:child_process');
  const registry = await startRegistry();
  const data = tempDir();
  try {
    await new Promise((resolve, reject) => execFile(process.execPath, [CLI, 'push', guestPath('echo'), `oci://${registry.host}/wasm/echo:1.0`], (err) => (err ? reject(err) : resolve(undefined))));
    const offlineHub = await EdgeHubEmulator.start();
    await offlineHub.setDesired({ schemaVersion: '1.0', workloads: { cached: { source: `oci://${registry.host}/wasm/echo:1.0`, sha256: guestBytes('echo').digest, timerMs: 100 } } });
    const startModule = () => {
      const child = spawn(process.execPath, [CLI, 'start'], { env: { PATH: process.env.PATH, ...offlineHub.env(), WASMHOST_DATA_DIR: data.path }, stdio: ['ignore', 'pipe', 'pipe'] });
      const out = { text: '' };
      child.stdout!.on('data', (c: Buffer) => (out.text += c.toString()));
      return { child, out };
    };
    const first = startModule();
    await waitFor('cached workload sending', () => offlineHub.outputs.some((o) => o.properties.workload === 'cached'), 30_000);
    first.child.kill('SIGTERM');
    await new Promise((r) => first.child.once('exit', r));

    await registry.stop();
    await offlineHub.stop(); // edgeHub and the registry are both gone
    const second = startModule();
    await waitFor('workload running offline', () => /\[workload=cached\] running/.test(second.out.text), 30_000);
    expect(second.out.text).toMatch(/applying the last desired state \(version \d+\) until the twin is read/);
    expect(second.out.text).toMatch(/cannot connect to edgeHub/);
    second.child.kill('SIGTERM');
    expect(await new Promise((r) => second.child.once('exit', r))).toBe(0);
    await offlineHub.close();
  } finally {
    data.cleanup();
  }
}, 90_000);
