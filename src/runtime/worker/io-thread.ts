/**
 * Preloaded (--import) into preview2-shim's I/O thread of a workload (shim-threads.ts starts it so):
 * - the egress guard: the thread makes the workload's outbound connections;
 * - paced collections, as in every isolate of the runner: nothing else ran in this one, and in the soak
 *   its heap's pages grew ~8 MB an hour on V8's own schedule (6.7 -> 11.4 MB in 35 minutes, then back
 *   to 5.5 at a collection V8 chose): the runner's whole creep (BENCHMARKS.md, seventh session);
 * - its heap reported to the workload's worker, which counts it in the workload's own.
 */
import './egress-guard.js';
import { workerData, type MessagePort } from 'node:worker_threads';
import { paceIfExposed } from '../paced-gc.js';
import { reportHeapEvery } from './heap-report.js';
import type { HeapReport } from '../protocol.js';

/** What shim-threads.ts adds to the shim's workerData: where this thread reports its heap. */
export interface IoThreadData {
  readonly heapPort?: MessagePort;
}

const heapPort = (workerData as IoThreadData | null)?.heapPort;
if (heapPort) {
  heapPort.unref();
  reportHeapEvery((heap: HeapReport) => heapPort.postMessage(heap));
}
paceIfExposed();
