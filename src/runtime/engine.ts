import { WasmhostError } from '../errors.js';
import { Compiler, type CompiledComponent } from './compiler.js';
import type { CachePolicy } from './compile-cache.js';
import { moduleSourceOf, WorkloadInstance, type InstanceConfig, type InstanceListener } from './instance.js';
import { operatorExports, type GraphPlan, type OperatorType } from '../base/index.js';
import { setWasmFlags } from './wasm-flags.js';
import { InlineWorker } from './inline-worker.js';
import { ThreadWorkers } from './worker-pool.js';
import { RunnerWorkers, type RunnerStats } from './runner/runner-workers.js';
import type { WorkerSource } from './worker-port.js';

export type StartOptions = Omit<InstanceConfig, 'components' | 'modules' | 'kind' | 'digest' | 'graph'>;

/**
 * Where workload workers run. `runner` (the host's): threads of one runner process, so a V8 fatal
 * error in a guest ends that process, never the host. `threads` (`wasmhost run`): threads of this one.
 */
export type WorkerPlacement = 'runner' | 'threads';

export interface EngineOptions {
  /** Default `runner`. */
  readonly placement?: WorkerPlacement;
  /** The runner's isolates pace their full collections (paced-gc.ts); default true. */
  readonly pacedGc?: boolean;
  /** Collect the compile cache after each new entry (for users of the cache with no supervisor). */
  readonly collectAfterCompile?: CachePolicy;
}

/**
 * The runtime's front door (wasmtime's Engine): compiles components once per digest and starts
 * instances from them, each in a worker of its own. One per host.
 */
export class Engine {
  readonly #compiler: Compiler;
  readonly #workers: WorkerSource;

  constructor(compiledCacheDir: string, { placement = 'runner', pacedGc = true, collectAfterCompile }: EngineOptions = {}) {
    this.#compiler = new Compiler(compiledCacheDir, undefined, collectAfterCompile);
    this.#workers = placement === 'runner' ? new RunnerWorkers(pacedGc) : new ThreadWorkers();
    setWasmFlags(); // this process's (the runner sets its own)
  }

  /** Compiles (or finds in the disk cache) a component or preview1 module. */
  compile(bytes: Uint8Array, digest: string): Promise<CompiledComponent> {
    return this.#compiler.compile(bytes, digest);
  }

  /** Removes the compiled output `policy` does not keep; the entries removed. */
  collectCompiled(policy: CachePolicy): Promise<string[]> {
    return this.#compiler.collect(policy);
  }

  /** Starts one instance in its own worker; resolves when the guest is instantiated. */
  async start(compiled: CompiledComponent, options: StartOptions, listener: InstanceListener): Promise<WorkloadInstance> {
    if (compiled.meta.kind === undefined) {
      const exports = compiled.meta.exports.join(', ') || 'none';
      const operators = operatorExports(compiled.meta.exports);
      const hint = operators.length ? `; it is a data flow operator module (${operators.join(', ')}): run it in a workload's graph` : '';
      throw new WasmhostError('WH_ERR_KIND_UNSUPPORTED', `the component exports none of edge:host/handler, wasi:cli/run, wasi:http/incoming-handler (exports: ${exports})${hint}`);
    }
    if (compiled.meta.kind === 'http' && !options.listen) {
      throw new WasmhostError('WH_ERR_LISTEN_REQUIRED', 'an http workload (wasi:http/incoming-handler) needs capabilities.listen.port to be served on');
    }
    return this.#start({ ...options, components: [compiled], kind: compiled.meta.kind, digest: compiled.digest }, listener);
  }

  /**
   * Starts a data flow graph: one worker holding an instance per operator node, made from `components`
   * (the graph's modules, each exporting the operators its nodes name), run as `plan` says.
   */
  startGraph(components: readonly CompiledComponent[], plan: GraphPlan, digest: string, options: StartOptions, listener: InstanceListener): Promise<WorkloadInstance> {
    components.forEach((compiled, i) => {
      const exported = operatorExports(compiled.meta.exports);
      for (const node of plan.nodes.filter((n) => n.component === i && !exported.includes(n.type as OperatorType))) {
        throw new WasmhostError('WH_ERR_KIND_UNSUPPORTED', `graph node ${node.name} is a ${node.type}, but its module exports ${exported.length ? `only ${exported.join(', ')}` : 'no wasm-graph:processor operator'} (exports: ${compiled.meta.exports.join(', ') || 'none'})`);
      }
    });
    return this.#start({ ...options, components, kind: 'graph', digest, graph: plan }, listener);
  }

  async #start(config: Omit<InstanceConfig, 'modules'>, listener: InstanceListener): Promise<WorkloadInstance> {
    // The worker boots (a thread, preview2-shim) while the core modules compile: neither waits for the other.
    const worker = config.sameThread ? new InlineWorker() : this.#workers.take(config.inheritStdio === true);
    let modules;
    try {
      modules = await Promise.all(config.components.map((compiled) => this.#workers.coreModules(moduleSourceOf(compiled, config.memoryMb))));
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return WorkloadInstance.start({ ...config, modules }, listener, worker);
  }

  /** The runner process (placement `runner`): its pid, memory and crashes. */
  runnerStats(): RunnerStats | undefined {
    return this.#workers instanceof RunnerWorkers ? this.#workers.stats() : undefined;
  }

  async close(): Promise<void> {
    await Promise.all([this.#compiler.close(), this.#workers.close()]);
  }
}
