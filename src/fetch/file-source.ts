import { createReadStream } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { redact } from './source.js';
import { WasmhostError } from '../errors.js';
import { collectCapped } from './capped.js';

export interface FileSourceSettings {
  /** Relative `file://` paths resolve against this folder. */
  readonly base: string;
  /** A file must lie inside one of these (after symlinks are resolved). */
  readonly roots: readonly string[];
  readonly maxBytes: number;
}

/** Reads a `file://` source, refusing paths outside the allowed roots and files over the size cap. */
export async function readFileSource(source: string, settings: FileSourceSettings): Promise<{ bytes: Uint8Array; digest: string }> {
  const path = resolve(settings.base, decodeURIComponent(source.slice('file://'.length)));
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    throw new WasmhostError('WH_ERR_FETCH_FAILED', `cannot read ${redact(source)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  const roots = await Promise.all(settings.roots.map((r) => realpath(r).catch(() => resolve(r))));
  if (!roots.some((root) => isInside(root, real))) {
    throw new WasmhostError('WH_ERR_SOURCE_NOT_ALLOWED', `${redact(source)} is outside the data volume`);
  }
  return collectCapped(createReadStream(real), settings.maxBytes, redact(source));
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
