import { writeSync } from 'node:fs';
import { cli, io } from './shim.js';
import { TokenBucket } from '../token-bucket.js';
import type { WorkerInit, WorkerToHost } from '../protocol.js';
import type { EffectBuffer } from './effects.js';

/** stderr lines are log lines: the same budget as the `log` import, and the log ring's line length. */
export const LOG_LINES_PER_SECOND = 200;
const STDERR_LINE_BYTES = 8192;

/**
 * One guest output stream, split into lines here in the worker and posted to the main thread as each
 * write happens. A worker's own process.stdout only moves data when its event loop turns, which never
 * happens during a command's `run` (one long synchronous call): lines would pile up in the worker
 * until the command ends. Lines over the budget are refused and counted; long lines are cut.
 */
class LineStream {
  #pending = '';
  readonly #decoder = new TextDecoder();

  constructor(
    private readonly maxLineBytes: number,
    private readonly budget: TokenBucket,
    private readonly refused: (count: number) => void,
    private readonly post: (lines: string[]) => void,
  ) {}

  write(chunk: string | Uint8Array): void {
    let text = this.#pending + (typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true }));
    const lines: string[] = [];
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      lines.push(stripCr(text.slice(0, nl)));
      text = text.slice(nl + 1);
    }
    while (text.length > this.maxLineBytes) {
      lines.push(text.slice(0, this.maxLineBytes));
      text = text.slice(this.maxLineBytes);
    }
    this.#pending = text;
    this.#emit(lines);
  }

  /** The stream ends (the worker closes): a last line without a newline still counts. */
  end(): void {
    const last = this.#pending + this.#decoder.decode();
    this.#pending = '';
    if (last) this.#emit([stripCr(last)]);
  }

  #emit(lines: string[]): void {
    const accepted = lines.filter(() => this.budget.take());
    if (accepted.length < lines.length) this.refused(lines.length - accepted.length);
    if (accepted.length) this.post(accepted);
  }
}

/**
 * Routes everything written to this worker's stdout and stderr (the guest's WASI stdio, which
 * preview2-shim writes to process.stdout/stderr, and any stray console output) through line streams.
 * A command's stdout lines are its telemetry (budget: messagesPerSecond); any other stdout line and
 * every stderr line is a log line (budget: LOG_LINES_PER_SECOND). Returns what ends both streams.
 */
export function captureGuestStdio(init: WorkerInit, effects: EffectBuffer, post: (message: WorkerToHost) => void): () => void {
  const stdoutIsTelemetry = init.kind === 'command';
  const stdout = new LineStream(
    stdoutIsTelemetry ? init.maxMessageBytes : STDERR_LINE_BYTES,
    new TokenBucket(stdoutIsTelemetry ? init.messagesPerSecond : LOG_LINES_PER_SECOND),
    (count) => effects.refuse(stdoutIsTelemetry ? 'telemetry' : 'log', 'budget', stdoutIsTelemetry ? `stdout lines over limits.messagesPerSecond (${init.messagesPerSecond})` : `stdout over ${LOG_LINES_PER_SECOND} lines/s`, count),
    (lines) => post({ type: 'stdio', stream: 'stdout', lines }),
  );
  const stderr = new LineStream(
    STDERR_LINE_BYTES,
    new TokenBucket(LOG_LINES_PER_SECOND),
    (count) => effects.refuse('log', 'budget', `stderr over ${LOG_LINES_PER_SECOND} lines/s`, count),
    (lines) => post({ type: 'stdio', stream: 'stderr', lines }),
  );
  redirect(process.stdout, (chunk) => stdout.write(chunk));
  redirect(process.stderr, (chunk) => stderr.write(chunk));
  return () => {
    stdout.end();
    stderr.end();
  };
}

/**
 * `wasmhost run`: the guest's stdout and stderr are the process's own, byte for byte, written as the
 * guest writes them (synchronously to fds 1 and 2; the worker's streams would hold them until the
 * guest's call returns). Written from the shim's streams, not through process.stdout/stderr: making
 * those two streams cost a CLI run 1.4-3.5 ms of its ~75 (BENCHMARKS.md, eighth session).
 */
export function passGuestStdioThrough(): void {
  onGuestStdio({ write: writeBlocking, blockingWriteAndFlush: writeBlocking });
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** All of `chunk`, as a guest's blocking write expects; a full pipe (a slow reader) is waited on, not spun on. */
function writeBlocking(fd: number, chunk: string | Uint8Array): void {
  let bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  while (bytes.byteLength > 0) {
    try {
      bytes = bytes.subarray(writeSync(fd, bytes));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return; // a closed pipe: the output has nowhere to go
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** Replaces a worker stream's write: the guest's bytes go to `sink` now, whatever the event loop does. */
function redirect(target: NodeJS.WriteStream, sink: (chunk: string | Uint8Array) => void): void {
  target.write = ((chunk: string | Uint8Array, encodingOrDone?: unknown, done?: unknown) => {
    sink(chunk);
    const callback = typeof encodingOrDone === 'function' ? encodingOrDone : done;
    if (typeof callback === 'function') queueMicrotask(() => (callback as () => void)());
    return true;
  }) as NodeJS.WriteStream['write'];
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

interface OutputStreamMethods {
  checkWrite(): bigint;
  write(buf: Uint8Array): void;
  blockingWriteAndFlush(buf: Uint8Array): void;
  flush(): void;
  blockingFlush(): void;
}

type StdioReplacements = { [K in keyof OutputStreamMethods]?: (fd: number, ...args: Parameters<OutputStreamMethods[K]>) => ReturnType<OutputStreamMethods[K]> };

/** Replaces methods of preview2-shim's output streams for the guest's stdout (fd 1) and stderr (fd 2) only. */
function onGuestStdio(replacements: StdioReplacements): void {
  const fds = new Map<unknown, number>([[cli.stdout.getStdout(), 1], [cli.stderr.getStderr(), 2]]);
  const proto = (io as unknown as { streams: { OutputStream: { prototype: Record<string, (...args: unknown[]) => unknown> } } }).streams.OutputStream.prototype;
  for (const [name, replacement] of Object.entries(replacements) as Array<[string, (fd: number, ...args: unknown[]) => unknown]>) {
    const original = proto[name]!;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      const fd = fds.get(this);
      return fd === undefined ? original.apply(this, args) : replacement(fd, ...args);
    };
  }
}

/** What check-write allows at once on stdout/stderr (WASI lets a stream say how much it takes now). */
const STDIO_WRITE_BYTES = 1n << 20n;

/**
 * preview2-shim writes stdout and stderr in this thread (synchronously, see above), but answers
 * check-write and flush on them through its I/O thread: the first `printf` of a guest started that
 * thread (~90 ms and an isolate). Those answers are known here: room to write, and nothing to flush.
 */
export function answerStdioLocally(): void {
  onGuestStdio({ checkWrite: () => STDIO_WRITE_BYTES, flush: () => undefined, blockingFlush: () => undefined });
}
