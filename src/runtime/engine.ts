import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WasmhostError } from '../errors.js';
import { Compiler, type CompiledComponent } from './compiler.js';
import { WorkloadInstance, type InstanceConfig, type InstanceListener } from './instance.js';
import { setFlagsFromString } from 'node:v8';
import { capMemories, MAX_TABLE_ENTRIES } from './memory-limit.js';
import { spawnWorkloadWorker, WarmWorkers } from './worker-pool.js';

/** Compiled core modules kept in memory for fast restarts; each is machine code shared by its workers. */
const MODULE_CACHE_ENTRIES = 32;

export type StartOptions = Omit<InstanceConfig, 'compiled' | 'modules'>;

/**
 * The runtime's front door (wasmtime's Engine): compiles components once per digest, keeps their
 * memory-capped WebAssembly.Modules, and starts instances from them. One per host.
 */
export class Engine {
  readonly #compiler: Compiler;
  readonly #modules = new Map<string, Promise<Record<string, WebAssembly.Module>>>();
  readonly #warm = new WarmWorkers();

  constructor(compiledCacheDir: string) {
    this.#compiler = new Compiler(compiledCacheDir);
    // V8's own bound on any wasm table, for the process and its workers: besides the caps written into
    // each module (capMemories), no table anywhere (one jco's glue makes included) can outgrow a heap.
    setFlagsFromString(`--wasm-max-table-size=${MAX_TABLE_ENTRIES}`);
  }

  /** Compiles (or finds in the disk cache) a component or preview1 module. */
  compile(bytes: Uint8Array, digest: string): Promise<CompiledComponent> {
    return this.#compiler.compile(bytes, digest);
  }

  /** Starts one instance in its own worker; resolves when the guest is instantiated. */
  async start(compiled: CompiledComponent, options: StartOptions, listener: InstanceListener): Promise<WorkloadInstance> {
    if (compiled.meta.kind === undefined) {
      const exports = compiled.meta.exports.join(', ') || 'none';
      throw new WasmhostError('WH_ERR_KIND_UNSUPPORTED', `the component exports none of edge:host/handler, wasi:cli/run, wasi:http/incoming-handler (exports: ${exports})`);
    }
    if (compiled.meta.kind === 'http' && !options.listen) {
      throw new WasmhostError('WH_ERR_LISTEN_REQUIRED', 'an http workload (wasi:http/incoming-handler) needs capabilities.listen.port to be served on');
    }
    const modules = await this.#loadModules(compiled, options.memoryMb);
    const worker = options.inheritStdio ? spawnWorkloadWorker(false) : this.#warm.take();
    return WorkloadInstance.start({ ...options, compiled, modules }, listener, worker);
  }

  async close(): Promise<void> {
    await Promise.all([this.#compiler.close(), this.#warm.close()]);
  }

  #loadModules(compiled: CompiledComponent, memoryMb: number): Promise<Record<string, WebAssembly.Module>> {
    const key = `${compiled.dir}|${memoryMb}`;
    let entry = this.#modules.get(key);
    if (entry) {
      this.#modules.delete(key); // re-insert: the Map's order is the LRU order
    } else {
      entry = compileModules(compiled, memoryMb);
      entry.catch(() => this.#modules.delete(key));
    }
    this.#modules.set(key, entry);
    if (this.#modules.size > MODULE_CACHE_ENTRIES) this.#modules.delete(this.#modules.keys().next().value!);
    return entry;
  }
}

async function compileModules(compiled: CompiledComponent, memoryMb: number): Promise<Record<string, WebAssembly.Module>> {
  const entries = await Promise.all(
    compiled.meta.coreModules.map(async (file) => {
      const bytes = capMemories(await readFile(join(compiled.dir, file)), memoryMb);
      return [file, await WebAssembly.compile(bytes)] as const;
    }),
  );
  return Object.fromEntries(entries);
}
