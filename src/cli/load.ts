import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WasmhostError } from '../errors.js';
import { sha256Hex } from '../fetch/capped.js';
import { Engine, KEEP_RECENT, type CompiledComponent } from '../runtime/index.js';
import { readSettings } from '../settings.js';

/** Reads a wasm file named on the command line and compiles it through the host's cache. */
export async function loadForCli(path: string): Promise<{ engine: Engine; compiled: CompiledComponent }> {
  const settings = readSettings();
  // Sync: the CLI has nothing else to do meanwhile, and node:fs/promises alone costs a few ms to load.
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info?.isFile()) throw new WasmhostError('WH_ERR_CLI_USAGE', `${path}: no such file`);
  if (info.size > settings.maxBlobBytes) throw new WasmhostError('WH_ERR_BLOB_TOO_LARGE', `${path} is larger than ${settings.maxBlobBytes} bytes`);
  const bytes = readFileSync(path);
  // The CLI runs one guest and ends: its worker is a thread of this process (no runner to start).
  const engine = new Engine(join(settings.dataDir, 'compiled'), { placement: 'threads', collectAfterCompile: KEEP_RECENT });
  const compiled = await engine.compile(bytes, sha256Hex(bytes));
  return { engine, compiled };
}
