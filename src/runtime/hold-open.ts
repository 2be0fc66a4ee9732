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
