export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Waits, then collects garbage when run with --expose-gc (npm run bench does), so memory readings are steady. */
export const settle = async (ms) => {
  await new Promise((r) => setTimeout(r, ms));
  globalThis.gc?.();
};

/** A markdown table: measure, ours (median), baseline in the same run, ratio. */
export function report(title, rows) {
  return [`### ${title}`, '', '| measure | wasmhost (median) | baseline, same run | ratio |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`), ''].join('\n');
}

/**
 * The module's environment for a benchmark, with what the operator set to compare passed on when set:
 * WASMHOST_PACED_GC=false (V8's own schedule), MALLOC_CONF (jemalloc's options; the operator's replaces the
 * runner's own), LD_PRELOAD (the host's allocator, which the runner then inherits; empty: glibc for both).
 */
export function moduleEnv(env) {
  for (const name of ['WASMHOST_PACED_GC', 'MALLOC_CONF', 'LD_PRELOAD']) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

/** Module processes a benchmark started: ended with it, even when it is interrupted (Ctrl-C, kill). */
const started = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of started) child.kill('SIGTERM');
    process.exit(130);
  });
}
export function owned(child) {
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}
