import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from './capped.js';

/**
 * Content-addressed blobs on the data volume: `<dir>/sha256/<hex>`. Writes are atomic (temporary
 * file, fsync, rename), so a power cut never leaves a half blob under a digest's name. The fetcher
 * owns this directory.
 */
export class BlobStore {
  /** Temporary files of puts in progress: a collection leaves them be. */
  readonly #writing = new Set<string>();

  constructor(private readonly dir: string) {}

  path(digest: string): string {
    return join(this.dir, 'sha256', digest);
  }

  async has(digest: string): Promise<boolean> {
    return stat(this.path(digest)).then(() => true, () => false);
  }

  /** The bytes of a stored blob, checked again against their digest (a disk can rot). */
  async get(digest: string): Promise<Uint8Array | undefined> {
    const bytes = await readFile(this.path(digest)).catch(() => undefined);
    if (!bytes) return undefined;
    if (sha256Hex(bytes) !== digest) {
      await rm(this.path(digest), { force: true });
      return undefined;
    }
    return bytes;
  }

  async put(digest: string, bytes: Uint8Array): Promise<void> {
    const target = this.path(digest);
    await mkdir(join(this.dir, 'sha256'), { recursive: true });
    const name = `${digest}.tmp-${randomBytes(6).toString('hex')}`;
    const tmp = join(this.dir, 'sha256', name);
    this.#writing.add(name);
    try {
      await writeFile(tmp, bytes);
      const fd = openSync(tmp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      await rename(tmp, target);
    } finally {
      this.#writing.delete(name);
    }
  }

  /** Removes every blob not in `keep`, and what interrupted puts left; returns the digests removed. */
  async collect(keep: ReadonlySet<string>): Promise<string[]> {
    const names = await readdir(join(this.dir, 'sha256')).catch(() => [] as string[]);
    const removed = names.filter((name) => !keep.has(name) && !this.#writing.has(name));
    await Promise.all(removed.map((name) => rm(join(this.dir, 'sha256', name), { force: true })));
    return removed.filter((n) => !n.includes('.tmp-'));
  }
}
