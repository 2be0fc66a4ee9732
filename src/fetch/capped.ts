import { createHash } from 'node:crypto';
import { WasmhostError } from '../errors.js';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Collects a stream of chunks up to `maxBytes`, hashing as it goes; past the cap it stops reading (the
 * blob is never held whole) and fails. Shared by file, http and registry sources.
 */
export async function collectCapped(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number, what: string): Promise<{ bytes: Uint8Array; digest: string }> {
  const hash = createHash('sha256');
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new WasmhostError('WH_ERR_BLOB_TOO_LARGE', `${what} is larger than ${maxBytes} bytes (WASMHOST_MAX_BLOB_MB)`);
    hash.update(chunk);
    parts.push(chunk);
  }
  return { bytes: Buffer.concat(parts), digest: hash.digest('hex') };
}
