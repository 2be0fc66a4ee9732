import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { CoreModules, ModuleSource } from './module-cache.js';
import type { HostToWorker } from './protocol.js';

/**
 * What a WorkloadInstance needs of its worker: node's Worker has it, and so does a worker in the
 * runner process seen from the host (RemoteWorker). Events: 'message' (WorkerToHost), 'error'
 * (Error with a `code`), 'exit' (once, last).
 */
export interface WorkerPort extends EventEmitter {
  postMessage(message: HostToWorker): void;
  terminate(): Promise<unknown>;
  /** The worker's own streams when captured in this process; null when they are not ours to read. */
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
}

/** Where workers come from: threads of this process, or of the runner process. */
export interface WorkerSource {
  /** A worker ready for its init; `inheritStdio`: the guest writes straight to this process's stdout/stderr. */
  take(inheritStdio: boolean): WorkerPort;
  /** The core modules to put in a worker's init, or undefined when the worker's own process compiles them. */
  coreModules(source: ModuleSource): Promise<CoreModules | undefined>;
  close(): Promise<void>;
}

/** The `code` on a worker 'error' when the runner process died under it. */
export const RUNNER_CRASHED = 'WH_RUNNER_CRASHED';
