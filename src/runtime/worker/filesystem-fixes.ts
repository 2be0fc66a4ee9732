import { filesystem } from './shim.js';

/**
 * Where preview2-shim 0.26.1's wasi:filesystem differs from WASI (and from wasmtime), corrected on this
 * worker's shim classes (per thread, so per workload), as clampReads does for reads:
 * - `set-times` on a descriptor passes milliseconds where Node's futimes takes seconds (a file got an
 *   mtime in the year 2446), and `no-change` reads the current time back the same way; `set-times-at`
 *   with `now` passes seconds where it divides milliseconds.
 * - Paths are resolved as strings, so `file/.`, `missing/../x` and `dir/.` resolve where POSIX (and
 *   wasmtime) fail: a `.` or `..` component must follow an existing directory; `rmdir` of a path ending
 *   in `.` or `..` is invalid; creating `new/` (a trailing slash) is a directory error.
 */
type NewTimestamp = { tag: 'no-change' } | { tag: 'now' } | { tag: 'timestamp'; val: Datetime };
interface Datetime {
  seconds: bigint;
  nanoseconds: number;
}
interface PathFlags {
  symlinkFollow?: boolean;
}
interface Descriptor {
  stat(): { dataAccessTimestamp?: Datetime; dataModificationTimestamp?: Datetime };
  statAt(flags: PathFlags, path: string): { type: string };
  setTimes(atime: NewTimestamp, mtime: NewTimestamp): void;
  setTimesAt(flags: PathFlags, path: string, atime: NewTimestamp, mtime: NewTimestamp): void;
  openAt(flags: PathFlags, path: string, open: { create?: boolean }, descriptorFlags: unknown): unknown;
  removeDirectoryAt(path: string): void;
}
type Method = (this: Descriptor, ...args: unknown[]) => unknown;

const seconds = (t: Datetime) => Number(t.seconds) + t.nanoseconds / 1e9;
const datetime = (s: number): Datetime => ({ seconds: BigInt(Math.floor(s)), nanoseconds: Math.round((s - Math.floor(s)) * 1e9) });

/** The time `next` asks for, in seconds; `current` is the file's time now (for no-change). */
function wanted(next: NewTimestamp, current: Datetime | undefined): number {
  if (next.tag === 'timestamp') return seconds(next.val);
  if (next.tag === 'now' || !current) return Date.now() / 1000;
  return seconds(current);
}

/**
 * A timestamp the shim's descriptor `set-times` turns into `s` seconds: it computes
 * `seconds * 1000 + nanoseconds / 1e6` and hands that to futimes as seconds.
 */
const forDescriptorSetTimes = (s: number): NewTimestamp => ({ tag: 'timestamp', val: { seconds: 0n, nanoseconds: Math.round(s * 1e6) } });

/** Checks the components the shim would resolve as strings, with the real file system. */
function checkComponents(dir: Descriptor, statAt: Descriptor['statAt'], path: string): void {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    if (parts[i] !== '.' && parts[i] !== '..') continue;
    const prefix = parts.slice(0, i).join('/');
    if (!prefix) continue;
    if (statAt.call(dir, { symlinkFollow: true }, prefix).type !== 'directory') throw 'not-directory'; // a missing prefix throws no-entry
  }
}

const lastComponent = (path: string) => path.replace(/\/+$/, '').split('/').at(-1);

/** Which arguments of each path-taking method are paths, and which descriptor each is relative to. */
const PATH_ARGS: Record<string, Array<{ path: number; dir?: number }>> = {
  createDirectoryAt: [{ path: 0 }],
  statAt: [{ path: 1 }],
  setTimesAt: [{ path: 1 }],
  linkAt: [{ path: 1 }, { path: 3, dir: 2 }],
  openAt: [{ path: 1 }],
  readlinkAt: [{ path: 0 }],
  removeDirectoryAt: [{ path: 0 }],
  renameAt: [{ path: 0 }, { path: 2, dir: 1 }],
  symlinkAt: [{ path: 1 }],
  unlinkFileAt: [{ path: 0 }],
  metadataHashAt: [{ path: 1 }],
};

export function fixFilesystem(): void {
  const proto = (filesystem.types as unknown as { Descriptor: { prototype: Descriptor & Record<string, Method> } }).Descriptor.prototype;
  const original = { setTimes: proto.setTimes, setTimesAt: proto.setTimesAt, statAt: proto.statAt, openAt: proto.openAt, removeDirectoryAt: proto.removeDirectoryAt };

  proto.setTimes = function (atime, mtime) {
    const now = atime.tag === 'no-change' || mtime.tag === 'no-change' ? this.stat() : {};
    original.setTimes.call(this, forDescriptorSetTimes(wanted(atime, now.dataAccessTimestamp)), forDescriptorSetTimes(wanted(mtime, now.dataModificationTimestamp)));
  };
  proto.setTimesAt = function (flags, path, atime, mtime) {
    const fix = (t: NewTimestamp): NewTimestamp => (t.tag === 'now' ? { tag: 'timestamp', val: datetime(Date.now() / 1000) } : t);
    original.setTimesAt.call(this, flags, path, fix(atime), fix(mtime));
  };
  proto.removeDirectoryAt = function (path) {
    const last = lastComponent(path);
    if (last === '.' || last === '..') throw 'invalid';
    original.removeDirectoryAt.call(this, path);
  };
  proto.openAt = function (flags, path, open, descriptorFlags) {
    if (open.create && path.endsWith('/')) {
      let exists = true;
      try {
        original.statAt.call(this, { symlinkFollow: true }, path.replace(/\/+$/, ''));
      } catch {
        exists = false;
      }
      if (!exists) throw 'is-directory';
    }
    return original.openAt.call(this, flags, path, open, descriptorFlags);
  };

  for (const [name, args] of Object.entries(PATH_ARGS)) {
    const method = proto[name]!;
    proto[name] = function (this: Descriptor, ...params: unknown[]) {
      for (const { path, dir } of args) {
        const base = dir === undefined ? this : (params[dir] as Descriptor);
        if (typeof params[path] === 'string' && base) checkComponents(base, original.statAt, params[path]);
      }
      return method.apply(this, params);
    };
  }
}
