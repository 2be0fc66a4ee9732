import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mqttPacketOf } from '../dist/base/index.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const GUESTS = join(ROOT, 'guest-modules', 'dist');
/** The `wasmhost` bin: the bundled CLI users run. */
export const CLI = join(ROOT, 'dist', 'cli', 'wasmhost.cjs');

export function guestPath(name: string): string {
  return join(GUESTS, `${name}.wasm`);
}

export function guestBytes(name: string): { bytes: Uint8Array; digest: string } {
  const bytes = readFileSync(guestPath(name));
  return { bytes, digest: createHash('sha256').update(bytes).digest('hex') };
}

/** A temporary folder removed by the returned cleanup. */
export function tempDir(prefix = 'wasmhost-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`, and what
 * `explain` says of the state it saw: a failure in CI is read from its message alone).
 */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, explain?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${explain ? `\n${explain()}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** For settings where 0 means "off" rather than "any port" (WASMHOST_METRICS_PORT). */
export { freePort } from '../test-support/free-port.mjs';
export { mallocArenas, mapsJemalloc, processTree, treeRssMb } from '../test-support/process-tree.mjs';

export interface Sample { name: string; labels: Record<string, string>; value: number }

/** Scrapes a Prometheus text endpoint into samples (comments skipped). */
export async function scrape(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseExposition(await res.text());
}

export function parseExposition(text: string): Sample[] {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((line) => {
    const [, name, body = '', value] = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line) ?? [];
    if (!name) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries([...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    return { name, labels, value: Number(value) };
  });
}

/** The value of the one sample named `name` whose labels include `labels`; undefined if none. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/**
 * Runs an ES module `script` in a child Node whose files may not grow past `kb` KB (ulimit -f), with
 * SIGXFSZ ignored: writes past the limit come back short, as on a full disk. Returns its stdout.
 */
export function runWithFileSizeLimit(kb: number, script: string): string {
  const child = spawnSync('bash', ['-c', `ulimit -f ${kb} && exec "$0" --input-type=module -e "$1"`, process.execPath, `process.on('SIGXFSZ', () => {});\n${script}`], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`child failed (${child.status}): ${child.stderr}`);
  return child.stdout;
}

/**
 * How many packet ids the copy of mqtt-packet that the last of `packages` uses (mqttPacketOf, from this
 * repo) holds in its cache of two-byte Buffers: 65,536 once it made it.
 */
export function packetIdsCached(packages: readonly string[]): number {
  const packets = createRequire(mqttPacketOf(join(ROOT, 'package.json'), packages));
  return Object.keys((packets('./numbers.js') as { cache: object }).cache).length;
}
