// Pull benchmarks (issue 4): pull + verify + compile of the JS sample (QuickJS, 1.6 MB; it was 12 MB with SpiderMonkey) from a local registry
// (Debian's docker-registry), cold vs from the caches, and the bare download as a same-run baseline.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Fetcher } from '../dist/fetch/index.js';
import { Engine } from '../dist/runtime/index.js';
import { startRegistry } from '../test-support/registry.mjs';
import { median, report } from './stats.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const ROUNDS = 3;

async function timed(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export async function fetchBench() {
  const registry = await startRegistry();
  const tmp = mkdtempSync(join(tmpdir(), 'wh-fetch-bench-'));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'dist/cli/wasmhost.cjs'), 'push', join(ROOT, 'guest-modules/dist/temperature-sensor.wasm'), `oci://${registry.host}/wasm/sensor:1`]);
    const digest = /sha256: ([0-9a-f]{64})/.exec(stdout)[1];
    const source = `oci://${registry.host}/wasm/sensor:1`;
    const settings = (dataDir) => ({ dataDir, fileBase: dataDir, fileRoots: [dataDir], maxBytes: 64 * 1024 * 1024, allowHttp: false });
    const pullAndCompile = async (dataDir) => {
      const blob = await new Fetcher(settings(dataDir)).fetch(source, digest);
      const engine = new Engine(join(dataDir, 'compiled'));
      await engine.compile(blob.bytes, blob.digest);
      await engine.close();
    };
    const cold = [];
    const pullOnly = [];
    const cached = [];
    const bare = [];
    for (let i = 0; i < ROUNDS; i++) {
      const dir = join(tmp, `cold-${i}`);
      cold.push(await timed(() => pullAndCompile(dir)));
      cached.push(await timed(() => pullAndCompile(dir))); // blob and transpiled code on disk
      pullOnly.push(await timed(() => new Fetcher(settings(join(tmp, `pull-${i}`))).fetch(source, digest)));
      bare.push(await timed(async () => (await fetch(`http://${registry.host}/v2/wasm/sensor/blobs/sha256:${digest}`)).arrayBuffer()));
    }
    return report('Pulls (issue 4)', [
      ['pull + verify + compile, JS sample (1.6 MB), cold', `${median(cold).toFixed(0)} ms`, '', ''],
      ['the same from the caches (blob store + compiled cache, no network)', `${median(cached).toFixed(0)} ms`, `cold ${median(cold).toFixed(0)} ms`, `${(median(cached) / median(cold)).toFixed(3)}`],
      ['pull + verify only (manifest, blob, sha256, atomic store)', `${median(pullOnly).toFixed(0)} ms`, `bare blob GET with fetch() ${median(bare).toFixed(0)} ms`, `${(median(pullOnly) / median(bare)).toFixed(2)}`],
    ]);
  } finally {
    await registry.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
