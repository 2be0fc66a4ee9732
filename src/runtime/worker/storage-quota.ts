import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { filesystem, io } from '@bytecodealliance/preview2-shim';

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
  stat(): { size: bigint };
  write(buffer: Bytes, offset: bigint): bigint;
  setSize(size: bigint): void;
  writeViaStream(offset: bigint): OutputStream;
  appendViaStream(): OutputStream;
}

const IoError = (io as unknown as { error: { Error: new (payload: unknown) => unknown } }).error.Error;

/** Bytes in regular files under `dir` (symlinks not followed: they are not the guest's bytes). */
function usageOf(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += usageOf(path);
    else if (entry.isFile()) bytes += lstatSync(path).size;
  }
  return bytes;
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
  let used = usageOf(dir);
  /** May `bytes` more be written? `exactGrowth` is asked only on the slow path. */
  const reserve = (bytes: number, exactGrowth: () => number): boolean => {
    if (bytes <= 0 || used + bytes <= quotaBytes) {
      used += Math.max(0, bytes);
      return true;
    }
    used = usageOf(dir);
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
}
