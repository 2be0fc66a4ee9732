import { rename, writeFile } from 'node:fs/promises';

/** Writes a whole file through a temporary one and a rename: a reader sees the old file or the new, never half of one. */
export async function replaceFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
