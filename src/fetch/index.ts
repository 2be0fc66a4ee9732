import { WasmhostError } from '../errors.js';
import { readFileSource, type FileSourceSettings } from './file-source.js';

export interface FetchedBlob {
  readonly bytes: Uint8Array;
  /** Lowercase hex sha256 of `bytes`. */
  readonly digest: string;
}

export type FetchSettings = FileSourceSettings;

/**
 * Gets a workload's bytes from its `source` and checks them against the pinned sha256; a mismatch is a
 * hard error. Only `file://` is served by this build; other schemes are refused with a clear error.
 */
export async function fetchBlob(source: string, sha256: string | undefined, settings: FetchSettings): Promise<FetchedBlob> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(source)?.[1]?.toLowerCase();
  if (scheme !== 'file') {
    throw new WasmhostError('WH_ERR_SOURCE_UNSUPPORTED', `${scheme ? `${scheme}://` : 'this'} source is not supported by this build (use file://)`);
  }
  const blob = await readFileSource(source, settings);
  if (sha256 && blob.digest !== sha256) {
    throw new WasmhostError('WH_ERR_DIGEST_MISMATCH', `sha256 of ${source} is ${blob.digest}, expected ${sha256}`);
  }
  return blob;
}
