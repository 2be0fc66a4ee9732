import { readFile } from 'node:fs/promises';
import { unwatchFile, watchFile } from 'node:fs';
import { MAX_DESIRED_BYTES } from '../spec/index.js';

export type DesiredRead = { ok: true; doc: unknown } | { ok: false; error: string };

/** Reads and parses a desired document file, with the twin's size limit. */
export async function readDesiredFile(path: string): Promise<DesiredRead> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, error: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  if (Buffer.byteLength(text) > MAX_DESIRED_BYTES * 2) return { ok: false, error: `${path} is larger than ${MAX_DESIRED_BYTES * 2} bytes` };
  try {
    return { ok: true, doc: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: `${path} is not valid JSON: ${(err as Error).message}` };
  }
}

/**
 * Calls `onChange` when the file's content changes. Polls (stat every `intervalMs`) because editors
 * save by rename, which fs.watch loses track of.
 */
export function watchDesiredFile(path: string, onChange: () => void, intervalMs = 500): () => void {
  const listener = (curr: { mtimeMs: number; size: number }, prev: { mtimeMs: number; size: number }) => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size) onChange();
  };
  watchFile(path, { interval: intervalMs, persistent: true }, listener);
  return () => unwatchFile(path, listener);
}
