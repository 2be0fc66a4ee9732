import { writeSync } from 'node:fs';

/**
 * Writes all of `bytes` or throws. fs.writeSync may write part of a buffer without an error (a full
 * disk, a file size limit): the durable logs (outbox, kv) treat that as the failure it is.
 */
export function writeFully(fd: number, bytes: Uint8Array): void {
  const written = writeSync(fd, bytes);
  if (written !== bytes.byteLength) throw new Error(`short write: ${written} of ${bytes.byteLength} bytes (disk full?)`);
}
