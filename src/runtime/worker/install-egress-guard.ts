/**
 * Imported first by the workload worker, before preview2-shim: the threads the shim starts (its I/O
 * thread makes outbound connections) preload the egress guard. The shim starts that thread with
 * `execArgv: []`, so the guard is added to whatever it asks for.
 */
import workerThreads, { type WorkerOptions } from 'node:worker_threads';
import { syncBuiltinESMExports } from 'node:module';

const GUARD = new URL('./egress-guard.js', import.meta.url).href;
const Base = workerThreads.Worker;

workerThreads.Worker = class GuardedWorker extends Base {
  constructor(filename: string | URL, options: WorkerOptions = {}) {
    super(filename, { ...options, execArgv: [...(options.execArgv ?? []), '--import', GUARD] });
  }
};
syncBuiltinESMExports(); // `import { Worker } from 'node:worker_threads'` in the shim now sees the guarded one
