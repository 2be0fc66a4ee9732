import { getHeapStatistics } from 'node:v8';
import { NO_HEAP, type HeapReport } from '../protocol.js';

/** How often a worker (and its I/O thread) reports its JS heap: metrics, and the soak benchmark's growth check. */
export const HEAP_REPORT_MS = 5000;

/** This isolate's JS heap. */
export function ownHeap(): HeapReport {
  const heap = getHeapStatistics();
  return { usedBytes: heap.used_heap_size, committedBytes: heap.total_heap_size };
}

export function addHeaps(a: HeapReport, b: HeapReport): HeapReport {
  return b === NO_HEAP ? a : { usedBytes: a.usedBytes + b.usedBytes, committedBytes: a.committedBytes + b.committedBytes };
}

/** Reports this isolate's heap now and every HEAP_REPORT_MS while its event loop turns (not keeping it alive). */
export function reportHeapEvery(report: (heap: HeapReport) => void): void {
  report(ownHeap());
  setInterval(() => report(ownHeap()), HEAP_REPORT_MS).unref();
}
