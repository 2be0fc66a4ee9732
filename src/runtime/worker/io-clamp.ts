import { filesystem, io } from './shim.js';

/**
 * The most one read or skip may ask of preview2-shim at once. The shim allocates the length a guest
 * asks for before it reads, and the bytes cross threads twice: a `pread` of 1 GiB on a 5-byte file
 * cost ~2 GB of host memory (field notes). A shorter read than asked is ordinary WASI (and POSIX)
 * behaviour; callers loop.
 */
export const MAX_READ_CHUNK = 1 << 20;

interface Readable {
  read(length: bigint): Uint8Array;
  blockingRead(length: bigint): Uint8Array;
  skip(length: bigint): bigint;
  blockingSkip(length: bigint): bigint;
}
interface DescriptorRead {
  read(length: bigint, offset: bigint): [Uint8Array, boolean];
}

const clamp = (length: bigint) => (length > BigInt(MAX_READ_CHUNK) ? BigInt(MAX_READ_CHUNK) : length);

/** Patches this worker's shim classes (per thread, so per workload): every read and skip is clamped. */
export function clampReads(): void {
  const stream = (io as unknown as { streams: { InputStream: { prototype: Readable } } }).streams.InputStream.prototype;
  for (const method of ['read', 'blockingRead', 'skip', 'blockingSkip'] as const) {
    const original = stream[method] as (length: bigint) => unknown;
    (stream as unknown as Record<string, unknown>)[method] = function (this: Readable, length: bigint) {
      return original.call(this, clamp(length));
    };
  }
  const descriptor = (filesystem.types as unknown as { Descriptor: { prototype: DescriptorRead } }).Descriptor.prototype;
  const read = descriptor.read;
  descriptor.read = function (this: DescriptorRead, length: bigint, offset: bigint) {
    return read.call(this, clamp(length), offset);
  };
}
