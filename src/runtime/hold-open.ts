import type { ChildProcess } from 'node:child_process';

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
