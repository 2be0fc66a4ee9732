// `wasmhost run` of a small cached component (issue 17, design.md "Scale and footprint": within 3x of
// `node -e 0`): wall time from spawn to exit, median of 9, against `node -e 0` in the same run,
// interleaved so both see the same machine.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, report } from './stats.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const ROUNDS = 9;

function wallMs(args, env) {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { env, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return performance.now() - started;
}

export async function cliBench() {
  const dataDir = mkdtempSync(join(tmpdir(), 'wh-cli-bench-'));
  const env = { PATH: process.env.PATH, WASMHOST_DATA_DIR: dataDir };
  const rows = [];
  try {
    for (const guest of ['hello', 'p1-args']) {
      const run = [join(ROOT, 'dist/cli/wasmhost.cjs'), 'run', join(ROOT, 'guest-modules/dist', `${guest}.wasm`)];
      wallMs(run, env); // the first run compiles into the cache
      const ours = [];
      const node = [];
      for (let i = 0; i < ROUNDS; i++) {
        ours.push(wallMs(run, env));
        node.push(wallMs(['-e', '0'], env));
      }
      const [o, n] = [median(ours), median(node)];
      rows.push([`wasmhost run ${guest}.wasm (cached, preview1 C)`, `${o.toFixed(0)} ms`, `node -e 0: ${n.toFixed(0)} ms`, `${(o / n).toFixed(1)}x`]);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  return report('CLI: wasmhost run of a small cached component', rows);
}
