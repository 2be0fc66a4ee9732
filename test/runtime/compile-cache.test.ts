// The compile cache is bounded (issue: runs for months): entries no one keeps leave it once unused for
// a while, by an atomic rename; a real Compiler marks each hit as a use and, when it has no supervisor,
// keeps only the entries used last.
import { mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectEntries, entryName, KEEP_RECENT, RECENT_USE_MS } from '../../dist/runtime/compile-cache.js';
import { Compiler, TOOLCHAIN } from '../../dist/runtime/compiler.js';
import { guestBytes, tempDir, waitFor } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const HOUR = 3_600_000;
const digest = (c: string) => c.repeat(64);
let n = 0;
const freshDir = () => join(tmp.path, `cache-${n++}`);

/** A complete entry (a meta file and some output) last used `ageMs` ago. */
function entry(dir: string, name: string, ageMs: number): void {
  mkdirSync(join(dir, name, 'wasm'), { recursive: true });
  writeFileSync(join(dir, name, 'component.cjs'), '"use strict";');
  writeFileSync(join(dir, name, 'wasm', 'core.wasm'), Buffer.alloc(1024));
  writeFileSync(join(dir, name, 'meta.json'), '{}');
  age(join(dir, name, 'meta.json'), ageMs);
  age(join(dir, name), ageMs);
}

function age(path: string, ageMs: number): void {
  const at = new Date(Date.now() - ageMs);
  utimesSync(path, at, at);
}

const names = (dir: string) => readdirSync(dir).sort();

it('removes entries nobody keeps once unused for longer than the policy says, and keeps the rest', async () => {
  const dir = freshDir();
  const kept = entryName(digest('a'), TOOLCHAIN);
  const keptButOld = entryName(digest('b'), TOOLCHAIN);
  const unusedLong = entryName(digest('c'), TOOLCHAIN);
  const usedLately = entryName(digest('d'), TOOLCHAIN);
  const otherToolchain = entryName(digest('a'), 'jco-transpile-1.0.0-f4');
  for (const [name, ageMs] of [[kept, 0], [keptButOld, 5 * HOUR], [unusedLong, 2 * HOUR], [usedLately, 10 * 60_000], [otherToolchain, 2 * HOUR]] as const) entry(dir, name, ageMs);
  const removed = await collectEntries(dir, TOOLCHAIN, { keep: new Set([digest('a'), digest('b')]), unusedForMs: HOUR }, () => false);
  expect(removed.sort()).toEqual([otherToolchain, unusedLong].sort());
  expect(names(dir)).toEqual([kept, keptButOld, usedLately].sort()); // nothing half removed or renamed is left
});

it('keeps the most recently used entries when told to, and what a compile is writing', async () => {
  const dir = freshDir();
  const byAge = ['1', '2', '3', '4', '5'].map((c) => entryName(digest(c), TOOLCHAIN));
  byAge.forEach((name, i) => entry(dir, name, (i + 2) * HOUR));
  const writing = `${entryName(digest('f'), TOOLCHAIN)}.tmp-123-456`;
  mkdirSync(join(dir, writing), { recursive: true });
  age(join(dir, writing), 3 * HOUR);
  const removed = await collectEntries(dir, TOOLCHAIN, { keepRecent: 2, unusedForMs: HOUR }, (name) => name.startsWith(entryName(digest('f'), TOOLCHAIN)));
  expect(removed.sort()).toEqual(byAge.slice(2).sort());
  expect(names(dir)).toEqual([...byAge.slice(0, 2), writing].sort());
});

it('clears what crashed compiles and removals left behind, and keeps a fresh temporary folder', async () => {
  const dir = freshDir();
  const crashed = `${entryName(digest('1'), TOOLCHAIN)}.tmp-99-1`;
  const halfRemoved = `${entryName(digest('2'), TOOLCHAIN)}.trash-99-1`;
  const inProgress = `${entryName(digest('3'), TOOLCHAIN)}.tmp-98-2`; // another process's compile
  for (const name of [crashed, halfRemoved, inProgress]) mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, halfRemoved, 'component.cjs'), '');
  age(join(dir, crashed), 2 * HOUR);
  age(join(dir, halfRemoved), 2 * HOUR);
  expect(await collectEntries(dir, TOOLCHAIN, { unusedForMs: HOUR }, () => false)).toEqual([]); // not entries: not reported
  expect(names(dir)).toEqual([inProgress]);
});

it('a missing cache folder is an empty one', async () => {
  await expect(collectEntries(join(tmp.path, 'none'), TOOLCHAIN, { unusedForMs: 0 }, () => false)).resolves.toEqual([]);
});

describe('a real compiler', () => {
  const echo = guestBytes('echo');
  const hello = guestBytes('hello');

  it('marks a cache hit as a use, so an entry in use is never the oldest', async () => {
    const dir = freshDir();
    const compiler = new Compiler(dir);
    const first = await compiler.compile(echo.bytes, echo.digest);
    age(join(first.dir, 'meta.json'), 3 * HOUR);
    const again = await new Compiler(dir).compile(echo.bytes, echo.digest); // another process, as the CLI is
    expect(again.dir).toBe(first.dir);
    expect(Date.now() - statSync(join(first.dir, 'meta.json')).mtimeMs).toBeLessThan(60_000);
    expect(await compiler.collect({ unusedForMs: HOUR })).toEqual([]);
    await compiler.close();
  }, 60_000);

  it('a compile asked for while the idle transpiler is ending goes to a new one and succeeds', async () => {
    const compiler = new Compiler(freshDir());
    await compiler.compile(echo.bytes, echo.digest);
    const ending = compiler.close(); // what the idle timer does; until the fix, its exit failed the next compile too
    const made = await compiler.compile(hello.bytes, hello.digest);
    expect(made.meta.exports.length).toBeGreaterThan(0);
    await ending;
    await compiler.close();
  }, 60_000);

  it('with no supervisor, collects after each new entry and keeps the one just made', async () => {
    const dir = freshDir();
    const compiler = new Compiler(dir, undefined, { ...KEEP_RECENT, keepRecent: 0 });
    const old = await compiler.compile(echo.bytes, echo.digest);
    age(join(old.dir, 'meta.json'), RECENT_USE_MS + HOUR);
    const made = await compiler.compile(hello.bytes, hello.digest);
    await waitFor('the old entry removed', () => names(dir).length === 1);
    expect(names(dir)).toEqual([entryName(hello.digest, TOOLCHAIN)]);
    expect(made.dir).toBe(join(dir, entryName(hello.digest, TOOLCHAIN)));
    await compiler.close();
  }, 60_000);
});
