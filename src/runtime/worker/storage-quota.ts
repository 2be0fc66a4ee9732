import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { filesystem, io } from './shim.js';

type Bytes = Uint8Array | number[];
interface OutputStream {
  write(buf: Bytes): void;
  blockingWriteAndFlush(buf: Bytes): void;
  writeZeroes(len: bigint): void;
  blockingWriteZeroesAndFlush(len: bigint): void;
  splice(src: unknown, len: bigint): bigint;
  blockingSplice(src: unknown, len: bigint): bigint;
}
interface Descriptor {
  stat(): { size: bigint; linkCount: bigint };
  openAt(pathFlags: unknown, path: string, openFlags: { create?: boolean }, flags: unknown): Descriptor;
  createDirectoryAt(path: string): void;
  symlinkAt(oldPath: string, newPath: string): void;
  linkAt(oldFlags: unknown, oldPath: string, newDescriptor: Descriptor, newPath: string): void;
  write(buffer: Bytes, offset: bigint): bigint;
  setSize(size: bigint): void;
  writeViaStream(offset: bigint): OutputStream;
  appendViaStream(): OutputStream;
}

const IoError = (io as unknown as { error: { Error: new (payload: unknown) => unknown } }).error.Error;

/** Entries (files, directories, links) one workload's /data may hold: each costs an inode and a directory slot. */
export const MAX_ENTRIES = 10_000;
/** What an entry costs beyond its blocks: an empty file or a link holds no block but is not free. */
const ENTRY_BYTES = 512;

/**
 * What `dir` holds on disk: allocated blocks (not sizes: a directory holds blocks with no size, a
 * sparse file has size without blocks) plus ENTRY_BYTES per entry, and the number of entries.
 * Symlinks are not followed. Walks without recursion.
 */
function usageOf(dir: string): { bytes: number; entries: number } {
  let bytes = 0;
  let entries = 0;
  const pending = [dir];
  while (pending.length) {
    const current = pending.pop()!;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      const stat = lstatSync(path);
      entries++;
      bytes += stat.blocks * 512 + ENTRY_BYTES;
      if (entry.isDirectory()) pending.push(path);
    }
  }
  return { bytes, entries };
}

/**
 * Holds a workload's `/data` to `capabilities.storage.quotaMb`: every way a guest can make a file
 * bigger (write at an offset, write/append streams, set-size) asks for the bytes first. A write past
 * the quota fails with the WASI error `quota` (EDQUOT to a C program) and nothing is written.
 *
 * The count is kept cheaply (each write is charged its full length, as if it all grew the directory)
 * and measured on disk only when that estimate would pass the quota: deletes and overwrites are then
 * credited, and the exact growth of the write decides. preview2-shim's classes are per worker thread,
 * so patching their prototypes here touches this workload only.
 */
export function enforceStorageQuota(dir: string, quotaBytes: number, refused: (detail: string) => void): void {
  /**
   * Files this guest opened: one unlinked while open still holds its bytes on disk, where no walk of
   * the directory finds them (a guest once wrote 206 MB that way under quotaMb 1). Weak: a descriptor
   * the guest dropped is forgotten with it.
   */
  const opened = new Set<WeakRef<Descriptor>>();
  const unlinkedBytes = () => {
    let bytes = 0;
    for (const ref of opened) {
      const descriptor = ref.deref();
      try {
        const stat = descriptor?.stat();
        if (!stat) opened.delete(ref);
        else if (stat.linkCount === 0n) bytes += Number(stat.size);
      } catch {
        opened.delete(ref); // closed
      }
    }
    return bytes;
  };
  const measure = () => {
    const { bytes, entries: count } = usageOf(dir);
    entries = count;
    return bytes + unlinkedBytes();
  };
  let entries = 0;
  let used = measure();
  /** May `bytes` more be written? `exactGrowth` is asked only on the slow path. */
  const reserve = (bytes: number, exactGrowth: () => number): boolean => {
    if (bytes <= 0 || used + bytes <= quotaBytes) {
      used += Math.max(0, bytes);
      return true;
    }
    used = measure();
    const growth = exactGrowth();
    if (used + growth <= quotaBytes) {
      used += Math.max(0, growth);
      return true;
    }
    refused(`writing ${growth} more bytes would pass capabilities.storage.quotaMb (${quotaBytes / 1048576} MB, ${used} bytes used)`);
    return false;
  };
  const size = (d: Descriptor) => Number(d.stat().size);
  const quotaStreamError = () => ({ tag: 'last-operation-failed', val: new IoError(Object.assign(new Error('storage quota exceeded'), { code: 'EDQUOT' })) });

  /** A file stream charges what it writes past the file's end; `position` follows its writes. */
  const guardStream = (descriptor: Descriptor, stream: OutputStream, start: number): OutputStream => {
    let position = start;
    const charge = (length: number) => {
      if (!reserve(length, () => position + length - size(descriptor))) throw quotaStreamError();
      position += length;
    };
    const { write, blockingWriteAndFlush, writeZeroes, blockingWriteZeroesAndFlush, splice, blockingSplice } = stream;
    return Object.assign(stream, {
      write: (buf: Bytes) => (charge(buf.length), write.call(stream, buf)),
      blockingWriteAndFlush: (buf: Bytes) => (charge(buf.length), blockingWriteAndFlush.call(stream, buf)),
      writeZeroes: (len: bigint) => (charge(Number(len)), writeZeroes.call(stream, len)),
      blockingWriteZeroesAndFlush: (len: bigint) => (charge(Number(len)), blockingWriteZeroesAndFlush.call(stream, len)),
      splice: (src: unknown, len: bigint) => (charge(Number(len)), splice.call(stream, src, len)),
      blockingSplice: (src: unknown, len: bigint) => (charge(Number(len)), blockingSplice.call(stream, src, len)),
    });
  };

  const proto = (filesystem.types as unknown as { Descriptor: { prototype: Descriptor } }).Descriptor.prototype;
  const { write, setSize, writeViaStream } = proto;
  proto.write = function (this: Descriptor, buffer: Bytes, offset: bigint) {
    if (!reserve(buffer.length, () => Number(offset) + buffer.length - size(this))) throw 'quota';
    return write.call(this, buffer, offset);
  };
  proto.setSize = function (this: Descriptor, newSize: bigint) {
    const current = size(this);
    if (!reserve(Number(newSize) - current, () => Number(newSize) - current)) throw 'quota';
    setSize.call(this, newSize);
  };
  proto.writeViaStream = function (this: Descriptor, offset: bigint) {
    return guardStream(this, writeViaStream.call(this, offset), Number(offset));
  };
  // appendViaStream goes through writeViaStream(size), so it is guarded too.

  /** A new entry (file, directory, link): counted against MAX_ENTRIES and charged its cost. */
  const newEntry = (what: string, cost: number): void => {
    if (entries >= MAX_ENTRIES) measure();
    if (entries >= MAX_ENTRIES) {
      refused(`${what}: /data already holds ${entries} entries, the most a workload may have`);
      throw 'quota';
    }
    if (!reserve(cost, () => cost)) throw 'quota';
    entries++;
  };
  const { openAt, createDirectoryAt, symlinkAt, linkAt } = proto;
  proto.openAt = function (this: Descriptor, pathFlags: unknown, path: string, openFlags: { create?: boolean }, flags: unknown) {
    if (openFlags?.create) newEntry(`creating ${path}`, ENTRY_BYTES);
    const descriptor = openAt.call(this, pathFlags, path, openFlags, flags);
    if (opened.size >= 4096) unlinkedBytes(); // forget the closed ones before adding
    opened.add(new WeakRef(descriptor));
    return descriptor;
  };
  proto.createDirectoryAt = function (this: Descriptor, path: string) {
    newEntry(`creating directory ${path}`, 4096 + ENTRY_BYTES); // a directory takes a block however empty
    createDirectoryAt.call(this, path);
  };
  proto.symlinkAt = function (this: Descriptor, oldPath: string, newPath: string) {
    newEntry(`creating link ${newPath}`, ENTRY_BYTES);
    symlinkAt.call(this, oldPath, newPath);
  };
  proto.linkAt = function (this: Descriptor, oldFlags: unknown, oldPath: string, newDescriptor: Descriptor, newPath: string) {
    newEntry(`creating link ${newPath}`, ENTRY_BYTES);
    linkAt.call(this, oldFlags, oldPath, newDescriptor, newPath);
  };
}
