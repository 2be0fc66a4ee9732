import { existsSync } from 'node:fs';

/**
 * glibc malloc settings for the runner, unless the operator set them: every thread that mallocs (each
 * workload's worker, V8's and libuv's helpers) otherwise gets an arena of its own, up to 8 per core (13
 * seen with 5 workloads), each holding freed memory it cannot give back; the runner grew a few MB an
 * hour with them and started 40 MB larger. Two arenas, and big blocks (>= 128 KB: message bodies,
 * serialized batches) mapped and unmapped rather than kept in an arena.
 */
export const GLIBC_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

/** Where Debian's libjemalloc2 puts the library, by architecture (the image installs it). */
export const JEMALLOC_PATHS: readonly string[] = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf'].map((triple) => `/usr/lib/${triple}/libjemalloc.so.2`);

/**
 * jemalloc's options for the runner, unless the operator set MALLOC_CONF. One arena: by default jemalloc
 * keeps four per core and spreads the runner's threads (a worker per workload, V8's and libuv's helpers)
 * over them, and each arena holds its own freed pages until they decay, which needs allocations in that
 * same arena. Under the soak's load one arena held the runner 5 MB lower (~150 against ~155 MB) and its
 * 30 s floors in a narrower band; each thread's cache still serves small allocations without the lock.
 */
export const JEMALLOC_CONF = 'narenas:1';

/**
 * The allocator environment the runner starts with, under the operator's own (which wins). jemalloc
 * where the system has it: glibc keeps the high-water mark of a fragmented arena for good (the runner
 * stepped up 26 MB under a burst of load and never came down), where jemalloc hands freed pages back
 * to the system within seconds; same load, the runner is 13 MB smaller with it. An `LD_PRELOAD` of the
 * operator's (even empty) keeps their choice.
 */
export function runnerAllocatorEnv(env: NodeJS.ProcessEnv, exists: (path: string) => boolean = existsSync): Record<string, string> {
  const jemalloc = env.LD_PRELOAD === undefined ? JEMALLOC_PATHS.find((path) => exists(path)) : undefined;
  return jemalloc ? { ...GLIBC_MALLOC_ENV, LD_PRELOAD: jemalloc, MALLOC_CONF: JEMALLOC_CONF } : { ...GLIBC_MALLOC_ENV };
}
