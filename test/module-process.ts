// The module as its own process, as users run it: one helper starts it with an environment and tears
// it down, and one keeps every core busy for the tests that must hold under load.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { CLI, waitFor } from './helpers.js';

export interface ModuleProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  logs(): string;
  /** Waits until its output matches `pattern`; returns the match. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM (or `signal`) and wait for the exit; resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `wasmhost <args>` (default `start`) with only PATH and `env` as its environment. */
export function startModule(env: Record<string, string>, args: readonly string[] = ['start']): ModuleProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    logs: () => text,
    waitForLog: (pattern, timeoutMs = 30_000) => waitFor(`log ${pattern}`, () => pattern.exec(text) ?? undefined, timeoutMs),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Keeps every core busy (one spinning process each) until the returned function is called. */
export function busyCores(): () => Promise<void> {
  const spinners = Array.from({ length: availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  return async () => {
    await Promise.all(spinners.map((s) => new Promise((r) => (s.exitCode !== null ? r(undefined) : (s.once('exit', r), s.kill('SIGKILL'))))));
  };
}

/** Stops what a module test started, in order: the busy cores, the module, the edgeHub emulator, the temporary folder. */
export async function tearDown(parts: { stopBusy?: () => Promise<void>; module?: ModuleProcess; hub?: { close(): Promise<void> }; tmp?: { cleanup(): void } }): Promise<void> {
  await parts.stopBusy?.();
  await parts.module?.stop();
  await parts.hub?.close();
  parts.tmp?.cleanup();
}
