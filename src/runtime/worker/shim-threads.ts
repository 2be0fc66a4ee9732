/**
 * Imported first by the workload worker, before preview2-shim, to shape the threads the shim starts:
 * - each preloads the egress guard (the shim's I/O thread makes outbound connections), the I/O thread
 *   with the rest of what it needs (io-thread.ts: paced collections, its heap reported here). The shim
 *   starts its threads with `execArgv: []`, so the preload is added to whatever it asks for;
 * - the I/O thread starts when the guest first needs it, not when the shim loads. A guest that never
 *   touches files, streams, clocks' pollables or the network (most handlers) then costs one isolate,
 *   not two (the shim starts that thread eagerly in every worker);
 * - the I/O thread's heap is bounded (IO_THREAD_LIMITS).
 */
import { EventEmitter } from 'node:events';
import workerThreads, { MessageChannel, type WorkerOptions } from 'node:worker_threads';
import { syncBuiltinESMExports } from 'node:module';
import { NO_HEAP, type HeapReport } from '../protocol.js';
import type { IoThreadData } from './io-thread.js';

const GUARD = new URL('./egress-guard.js', import.meta.url).href;
const IO_THREAD_PRELOAD = new URL('./io-thread.js', import.meta.url).href;
const Base = workerThreads.Worker;
/** preview2-shim's I/O thread (its synckit worker). */
const IO_THREAD = /\/worker-thread\.bundle\.js$/;

let started: InstanceType<typeof Base> | undefined;
let ioHeap: HeapReport = NO_HEAP;

/** The shim's I/O thread of this worker, once it has started (diagnostics: its heap is nobody else's). */
export function ioThread(): InstanceType<typeof Base> | undefined {
  return started;
}

/** The I/O thread's JS heap as it last reported it (NO_HEAP until it has started): part of the workload's. */
export function ioThreadHeap(): HeapReport {
  return ioHeap;
}

/**
 * The I/O thread's JS heap. The shim starts it without limits, so V8 sized its old generation for a
 * process (gigabytes) and collected it rarely: an http workload's request garbage piled up there
 * (+7 MB an hour at 5 requests a second in the soak; 13 MB in use, 6 after a forced collection). A
 * bounded heap is collected as it goes. Bodies and file data are Buffers, outside this heap.
 */
export const IO_THREAD_LIMITS = { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 4 } as const;

const preloading = (preload: string, options: WorkerOptions): WorkerOptions => ({ ...options, execArgv: [...(options.execArgv ?? []), '--import', preload] });

/** The shim's options for its I/O thread, and ours: its preload, its heap's bounds and a port for its heap reports. */
function ioThreadOptions(options: WorkerOptions): WorkerOptions {
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (heap: HeapReport) => (ioHeap = heap));
  port1.unref();
  const workerData: IoThreadData = { ...(options.workerData as object), heapPort: port2 };
  return preloading(IO_THREAD_PRELOAD, {
    ...options,
    workerData,
    transferList: [...(options.transferList ?? []), port2],
    resourceLimits: { ...options.resourceLimits, ...IO_THREAD_LIMITS },
  });
}

/**
 * Stands in for the shim's I/O Worker until its first message: the shim only listens to it, unrefs it
 * and posts to it (then waits synchronously for the answer, which the started thread gives).
 */
class LazyWorker extends EventEmitter {
  #worker: InstanceType<typeof Base> | undefined;
  #referenced = true;

  constructor(private readonly filename: string | URL, private readonly options: WorkerOptions) {
    super();
  }

  postMessage(value: unknown, transfer?: readonly workerThreads.Transferable[]): void {
    this.#start().postMessage(value, transfer);
  }

  ref(): void {
    this.#referenced = true;
    this.#worker?.ref();
  }

  unref(): void {
    this.#referenced = false;
    this.#worker?.unref();
  }

  async terminate(): Promise<number> {
    return this.#worker ? this.#worker.terminate() : 0;
  }

  #start(): InstanceType<typeof Base> {
    if (this.#worker) return this.#worker;
    const worker = new Base(this.filename, ioThreadOptions(this.options));
    for (const event of ['message', 'messageerror', 'error', 'online', 'exit']) worker.on(event, (...args: unknown[]) => this.emit(event, ...args));
    if (!this.#referenced) worker.unref();
    this.#worker = worker;
    started = worker;
    return worker;
  }
}

workerThreads.Worker = class GuardedWorker extends Base {
  constructor(filename: string | URL, options: WorkerOptions = {}) {
    if (IO_THREAD.test(String(filename))) return new LazyWorker(filename, options) as unknown as GuardedWorker;
    super(filename, preloading(GUARD, options));
  }
};
syncBuiltinESMExports(); // `import { Worker } from 'node:worker_threads'` in the shim now sees this one
