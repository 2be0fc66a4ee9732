import type { ChildProcess, ForkOptions } from 'node:child_process';

/**
 * Starts a helper process (runner, transpiler). node:child_process (with net and dgram under it) loads
 * on the first start, not with this module: `wasmhost run` of a cached guest never starts one.
 */
export function forkChild(modulePath: string, args: readonly string[], options: ForkOptions): ChildProcess {
  return process.getBuiltinModule('node:child_process').fork(modulePath, args, options);
}

/**
 * Whether a helper process (runner, transpiler) keeps this one's event loop alive: only while it has
 * work. An idle one never holds up a CLI, a test or a shutdown.
 */
export function holdOpen(child: ChildProcess, hold: boolean): void {
  const channel = child.channel as { ref(): void; unref(): void } | null | undefined;
  if (hold) {
    child.ref();
    channel?.ref();
  } else {
    child.unref();
    channel?.unref();
  }
}

/**
 * Ends a helper process and resolves once it is gone: `ask` asks it to end (disconnect, a signal);
 * past `graceMs` it is killed. Waited for even when nothing else keeps this process going.
 */
export async function endChild(child: ChildProcess, ask: () => void, graceMs = 0): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve())); // not events.once: an 'error' must not reject it
  holdOpen(child, true);
  ask();
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
