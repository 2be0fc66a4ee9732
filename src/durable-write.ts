import { ftruncateSync, writeSync } from 'node:fs';

/**
 * Writes all of `bytes` or throws. fs.writeSync may write part of a buffer without an error (a full
 * disk, a file size limit): the durable logs (outbox, kv) treat that as the failure it is.
 */
export function writeFully(fd: number, bytes: Uint8Array): void {
  const written = writeSync(fd, bytes);
  if (written !== bytes.byteLength) throw new Error(`short write: ${written} of ${bytes.byteLength} bytes (disk full?)`);
}

/**
 * Appends one whole record to a log whose size is `sizeBefore`, then runs `then` (an fsync). If either
 * fails (disk full), the log is cut back to `sizeBefore` before the error goes on: no half record for
 * the next one to be glued to, and nothing the caller will report as refused.
 */
export function appendRecord(fd: number, bytes: Uint8Array, sizeBefore: number, then?: () => void): void {
  try {
    writeFully(fd, bytes);
    then?.();
  } catch (err) {
    try {
      ftruncateSync(fd, sizeBefore);
    } catch {
      // a log that cannot be cut keeps a torn last line: its readers skip it
    }
    throw err;
  }
}
