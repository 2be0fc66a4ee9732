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
