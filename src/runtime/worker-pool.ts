import { Worker } from 'node:worker_threads';
import { ModuleCache, type CoreModules, type ModuleSource } from './module-cache.js';
import type { WorkerSource } from './worker-port.js';

/** JS heap of a workload worker (jco glue, host API); guest linear memory is capped separately. */
const WORKER_HEAP_MB = 128;

/** The worker's code: worker/main.ts and what it loads, bundled by `npm run build` (scripts/bundle.mjs). */
const WORKER_ENTRY = new URL('./worker.cjs', import.meta.url);

/** A fresh workload worker, not yet told which guest to run (it waits for an `init` message). */
export function spawnWorkloadWorker(captureStdio: boolean): Worker {
  return new Worker(WORKER_ENTRY, {
    env: {}, // the host's environment never reaches a guest, not even through shim defaults
    argv: [],
    stdout: captureStdio,
    stderr: captureStdio,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 4 },
  });
}

/**
 * Keeps one started worker ready: starting a thread and loading preview2-shim take ~90 ms together,
 * which would otherwise be paid on every workload start and restart. The spare is unref'd so it never
 * keeps the process alive.
 */
export class WarmWorkers {
  #spare: Worker | undefined;
  #closed = false;

  take(): Worker {
    const worker = this.#spare ?? spawnWorkloadWorker(true);
    this.#spare = undefined;
    worker.ref();
    if (!this.#closed) setImmediate(() => this.#refill());
    return worker;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const spare = this.#spare;
    this.#spare = undefined;
    await spare?.terminate();
  }

  #refill(): void {
    if (this.#spare || this.#closed) return;
    const worker = spawnWorkloadWorker(true);
    worker.unref();
    worker.on('error', () => {
      if (this.#spare === worker) this.#spare = undefined;
    });
    this.#spare = worker;
  }
}

/** Workers as threads of this process (`wasmhost run`, and the runner process itself). */
export class ThreadWorkers implements WorkerSource {
  readonly #warm = new WarmWorkers();
  readonly #modules = new ModuleCache();

  take(inheritStdio: boolean): Worker {
    return inheritStdio ? spawnWorkloadWorker(false) : this.#warm.take();
  }

  coreModules(source: ModuleSource): Promise<CoreModules> {
    return this.#modules.load(source);
  }

  close(): Promise<void> {
    return this.#warm.close();
  }
}
