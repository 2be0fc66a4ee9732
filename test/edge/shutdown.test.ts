// SIGTERM under load (IoT Edge stops modules that way): exit 0, and every message whose
// telemetry.send returned ok reaches edgeHub.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeHubEmulator } from '../../test-support/edgehub/emulator.mjs';
import { CLI, guestBytes, guestPath, tempDir, waitFor } from '../helpers.js';

it('SIGTERM under load: clean exit 0 and nothing lost that the guest was told was sent', async () => {
  const tmp = tempDir();
  const hub = await EdgeHubEmulator.start();
  try {
    mkdirSync(join(tmp.path, 'wasm'));
    copyFileSync(guestPath('burst'), join(tmp.path, 'wasm', 'burst.wasm'));
    // 2 x 5000 msg/s: load, but below what the link carries (overload is the durable outbox's job, issue 6).
    const burst = { source: 'file://wasm/burst.wasm', sha256: guestBytes('burst').digest, timerMs: 100, limits: { messagesPerSecond: 100_000 } };
    await hub.setDesired({ schemaVersion: '1.0', workloads: { a: burst, b: burst } });
    const module = spawn(process.execPath, [CLI, 'start'], { env: { PATH: process.env.PATH, ...hub.env(), WASMHOST_DATA_DIR: tmp.path }, stdio: 'ignore' });
    const arrived = (w: string) => hub.outputs.filter((o) => o.properties.workload === w).length;
    await waitFor('both streaming', () => arrived('a') > 2000 && arrived('b') > 2000, 30_000);
    module.kill('SIGTERM');
    const code = await new Promise((r) => module.once('exit', r));
    expect(code).toBe(0);
    const reported = hub.reported.workloads as Record<string, { messagesSent: number; status: string }>;
    for (const w of ['a', 'b']) {
      expect(reported[w]?.status).toBe('stopped');
      expect(reported[w]?.messagesSent).toBeGreaterThan(2000);
      expect(arrived(w)).toBeGreaterThanOrEqual(reported[w]!.messagesSent); // at least once
    }
  } finally {
    await hub.close();
    tmp.cleanup();
  }
}, 60_000);
