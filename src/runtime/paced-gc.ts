import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Paced full collections. Left to itself, V8 lets a lightly loaded isolate's old generation grow by at
 * least 8 MB past its live size, and memory held outside the heap for its objects (a wasm instance's
 * native parts, buffers) by up to 64 MB, before it collects: at a steady load that is a cycle of ~20
 * minutes per isolate (measured in the soak), and a module runs one isolate per workload and two more.
 * Their high-water marks add up and read as growth for hours. Collecting each isolate once its heap has
 * grown a little keeps it near its live size, for one pause of that thread every half minute at most
 * (a compaction of a 5-12 MB heap: median ~80 ms at the soak's load on two busy cores, ~36 ms idle).
 */

/** When an isolate collects: how often it looks at its heap, and what growth since its last full collection starts one. */
export interface Pacing {
  readonly checkMs: number;
  /** Growth (of the heap and the memory it holds outside it) that starts a collection at the next look. */
  readonly growthBytes: number;
  /**
   * Growth that starts one once `settleMs` has passed since the last: an isolate that allocates little
   * (a handler on a slow timer, a worker between requests) otherwise took an hour or more to reach
   * `growthBytes`, and its garbage held new pages all that while (in the soak, runner isolates went 30+
   * minutes without a collection, 0.3-2 MB above their live size and climbing).
   */
  readonly settleBytes: number;
  readonly settleMs: number;
}

/** The growth step of every isolate: the host's and the runner's differ in how often they look and whether they settle. */
const GROWTH_STEP_BYTES = 2 * 1024 * 1024;

/**
 * The runner's isolates. A settling collection is a compaction like the others, once per 3 minutes at
 * most, and only in an isolate that allocates too little to reach `growthBytes` by then.
 */
export const RUNNER_PACING: Pacing = { checkMs: 30_000, growthBytes: GROWTH_STEP_BYTES, settleBytes: 256 * 1024, settleMs: 180_000 };

/** The Node flag that gives every isolate of a process a `gc()`: the runner process is started with it. */
export const EXPOSE_GC_FLAG = '--expose-gc';
/**
 * The V8 flag that makes every full collection compact the old generation. Without it V8 evacuates only
 * pages it finds fragmented enough, and a worker at a steady load kept what its sweeps freed as holes:
 * its old generation held 2-4 MB more pages than it used after ten minutes (the runner's thread 5.7 ->
 * 8.5 MB committed at 3.6 MB in use), and V8 took more pages rather than fill the holes. The runner
 * process is started with it: paced collections are then a compaction each (~4x a plain full collection).
 */
export const COMPACT_FLAG = '--compact-on-every-full-gc';

export type Collect = () => void;

/**
 * The host's main thread: its old generation takes in ~3 MB a minute under telemetry, so it looks more
 * often; and it does not settle: a compaction pauses it 150-290 ms (below), too much for a few idle pages.
 */
export const HOST_PACING: Pacing = { checkMs: 10_000, growthBytes: GROWTH_STEP_BYTES, settleBytes: Infinity, settleMs: Infinity };

/**
 * A full collection that compacts the old generation, for the host, which does not run with
 * COMPACT_FLAG. Under the SDK's traffic the host promotes ~3 MB a minute of short-lived objects; V8's
 * own collections and plain paced ones swept them into holes and took new pages, and compacted only
 * minutes later: the host's old generation cycled between 27 and 39 MB committed (IoT Edge soak), and
 * the lows of that cycle crept up over hours. Compacting at each paced collection, every 10 s at most,
 * held it at 27-34 MB. Each is one pause of the main thread, 150-290 ms for a 35 MB heap at six times
 * the soak's load on two busy cores (twelfth session); telemetry CPU per message did not move. Compacting
 * at every collection V8 makes instead held the main thread 4-8 us longer a message under a telemetry
 * burst (BENCHMARKS.md, eighth session): V8 collects far more often than this.
 */
export function compacting(collect: Collect): Collect {
  return () => {
    setFlagsFromString(COMPACT_FLAG); // process-wide, but read by V8 only inside this synchronous collection
    try {
      collect();
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc');
    }
  };
}

/**
 * This thread's full collection: the global `gc` of a process started with EXPOSE_GC_FLAG, or else one
 * taken from a new context made while the flag is briefly on. Flags are process-wide: take it that way
 * only on the main thread before any worker starts.
 */
export function fullCollection(): Collect {
  const exposed = exposedGc();
  if (exposed) return exposed;
  setFlagsFromString(EXPOSE_GC_FLAG);
  try {
    return runInNewContext('gc') as Collect;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** The global `gc` of a process started with EXPOSE_GC_FLAG. */
function exposedGc(): Collect | undefined {
  return (globalThis as { gc?: Collect }).gc;
}

/** Paces this isolate's collections if its process was started with EXPOSE_GC_FLAG (the runner's isolates). */
export function paceIfExposed(): void {
  const exposed = exposedGc();
  if (exposed) paceCollections(exposed, RUNNER_PACING);
}

/**
 * What this isolate holds of the process's memory: its heap's pages (committed: in use, free and
 * fragmented) and the memory its objects hold outside the heap. Committed, not in use: V8 takes new
 * pages while used bytes barely move (a runner thread's old space went 5.7 -> 8.5 MB committed at 3.6 MB
 * in use in seven minutes), and pages are what resident memory counts.
 */
export function heldBytes(): number {
  const stats = getHeapStatistics();
  return stats.total_heap_size + stats.external_memory;
}

export interface PacedCollections {
  /** Full collections made so far. */
  readonly count: number;
  stop(): void;
}

/**
 * Collects at a look when the isolate holds `growthBytes` more than after its last collection (or since,
 * if less), or `settleBytes` more once `settleMs` has passed since that collection.
 */
export function paceCollections(collect: Collect, pacing: Pacing, held: () => number = heldBytes): PacedCollections {
  let afterLast = held();
  let lastAt = performance.now();
  let count = 0;
  const timer = setInterval(() => {
    const now = held();
    // V8 counts freed buffers out of external memory some time after the collection that freed them.
    afterLast = Math.min(afterLast, now);
    const grown = now - afterLast;
    const settling = performance.now() - lastAt >= pacing.settleMs;
    if (grown < pacing.growthBytes && !(settling && grown >= pacing.settleBytes)) return;
    collect();
    count++;
    afterLast = held();
    lastAt = performance.now();
  }, pacing.checkMs).unref();
  return {
    get count() {
      return count;
    },
    stop: () => clearInterval(timer),
  };
}
