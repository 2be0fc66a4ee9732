import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { capMemories } from './memory-limit.js';

/** Compiled core modules kept in memory for fast restarts; each is machine code shared by its workers. */
const ENTRIES = 32;

export type CoreModules = Record<string, WebAssembly.Module>;

/** Where a component's core modules are on disk (its compile output), and the memory cap to write into them. */
export interface ModuleSource {
  readonly dir: string;
  readonly files: readonly string[];
  readonly memoryMb: number;
}

/**
 * A component's core modules, memory-capped and compiled once per (component, memory limit), kept in
 * LRU order. Lives in the process that runs the workers: a WebAssembly.Module is shared between
 * threads of one process, never across processes.
 */
export class ModuleCache {
  readonly #entries = new Map<string, Promise<CoreModules>>();

  load(source: ModuleSource): Promise<CoreModules> {
    const key = `${source.dir}|${source.memoryMb}`;
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key); // re-insert: the Map's order is the LRU order
    } else {
      entry = compileModules(source);
      entry.catch(() => this.#entries.delete(key));
    }
    this.#entries.set(key, entry);
    if (this.#entries.size > ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    return entry;
  }
}

/**
 * Read synchronously, compiled in V8's background threads: every compile has started when this returns,
 * before the worker code a caller loads next (~8 ms of a `wasmhost run`) takes the thread. Files of the
 * compile cache, read where a millisecond's stall is harmless: the runner's relay thread, the CLI.
 */
async function compileModules({ dir, files, memoryMb }: ModuleSource): Promise<CoreModules> {
  const entries = await Promise.all(files.map(async (file) => [file, await WebAssembly.compile(capMemories(readFileSync(join(dir, file)), memoryMb))] as const));
  return Object.fromEntries(entries);
}
