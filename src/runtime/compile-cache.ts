import { statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { META_FILE } from './compile-format.js';

/** What a collection of the compile cache keeps; everything else it removes. */
export interface CachePolicy {
  /** Digests in use (this toolchain's entries for them are kept). */
  readonly keep?: ReadonlySet<string>;
  /** How many of the most recently used entries of this toolchain are kept besides. */
  readonly keepRecent?: number;
  /**
   * An entry used within this long is kept whatever else holds: another process sharing the data
   * directory (`wasmhost run` beside a module) may be about to load it.
   */
  readonly unusedForMs: number;
}

/** An entry used within the last hour stays, needed or not (see `unusedForMs`). */
export const RECENT_USE_MS = 3_600_000;

/** For a cache no supervisor keeps (the CLI's, the test runner's): the 16 entries used last. */
export const KEEP_RECENT: CachePolicy = { keepRecent: 16, unusedForMs: RECENT_USE_MS };

const DIGEST = /^[0-9a-f]{64}$/;

/** An entry's folder name: the component's digest and the toolchain that compiled it. */
export function entryName(digest: string, toolchain: string): string {
  return `${digest}-${toolchain}`;
}

/** Marks an entry used now: collection goes by last use (its meta file's mtime). */
export function touchEntry(dir: string): void {
  const now = new Date();
  try {
    utimesSync(join(dir, META_FILE), now, now);
  } catch {
    // a read-only volume, or the entry just went: it is used all the same
  }
}

/** When an entry (or a half-written or half-removed folder) was last used or written; undefined when gone. */
function lastUse(path: string): number | undefined {
  return (statSync(join(path, META_FILE), { throwIfNoEntry: false }) ?? statSync(path, { throwIfNoEntry: false }))?.mtimeMs;
}

/**
 * Removes the entries of `cacheDir` that `policy` does not keep, and folders that crashed compiles or
 * removals left behind; returns the names of the entries removed. An entry goes by an atomic rename
 * first, so a reader never finds it half removed. `busy(name)`: a compile is writing that entry now.
 */
export async function collectEntries(cacheDir: string, toolchain: string, policy: CachePolicy, busy: (name: string) => boolean, now = Date.now()): Promise<string[]> {
  const { readdir, rename, rm } = await import('node:fs/promises'); // loaded here: the CLI's start does without it
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  const suffix = `-${toolchain}`;
  const current = (name: string) => name.endsWith(suffix) && DIGEST.test(name.slice(0, -suffix.length));
  const unused = (name: string) => {
    const at = lastUse(join(cacheDir, name));
    return at !== undefined && now - at > policy.unusedForMs;
  };
  const byUse = names.filter(current).map((name) => [name, lastUse(join(cacheDir, name)) ?? 0] as const).sort((a, b) => b[1] - a[1]);
  const recent = new Set(byUse.slice(0, policy.keepRecent ?? 0).map(([name]) => name));
  const doomed = names.filter((name) => !recent.has(name) && !busy(name) && !(current(name) && policy.keep?.has(name.slice(0, -suffix.length))));
  const removed: string[] = [];
  for (const name of doomed) {
    if (!unused(name)) continue; // read just before: a reader may have touched it meanwhile
    const path = join(cacheDir, name);
    const trash = name.includes('.trash-') ? path : `${path}.trash-${process.pid}-${now}`;
    if (trash !== path && !(await rename(path, trash).then(() => true, () => false))) continue;
    await rm(trash, { recursive: true, force: true });
    if (!name.includes('.tmp-') && !name.includes('.trash-')) removed.push(name);
  }
  return removed;
}
