import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WasmhostError } from '../errors.js';
import { assertBounded, assertWasm } from './binary.js';
import { endChild, forkChild, holdOpen } from './hold-open.js';
import { packageVersion } from './package-root.js';
import { collectEntries, entryName, touchEntry, type CachePolicy } from './compile-cache.js';
import { COMPILE_FORMAT, META_FILE, type CompileRequest, type CompileResponse, type CompiledMeta } from './compile-format.js';

/** A new transpiler may generate different code: its version is part of the cache key. */
export const TOOLCHAIN = `jco-transpile-${packageVersion('@bytecodealliance/jco-transpile')}-f${COMPILE_FORMAT}`;
const IDLE_MS = 5000;
/** A transpile of a real component takes 0.05-1 s (field notes); one that runs on past this is hostile or broken. */
const COMPILE_TIMEOUT_MS = 60_000;
/** jco-transpile needs ~240 MB for a 12 MB component; past this the transpiler process ends, not the host. */
const COMPILE_HEAP_MB = 768;

export interface CompiledComponent {
  readonly digest: string;
  readonly dir: string;
  readonly meta: CompiledMeta;
}

/**
 * Turns component (or preview1 module) bytes into cached transpiled output under `cacheDir`, keyed by
 * digest and toolchain. The transpiler is loaded lazily in its own worker, ended after IDLE_MS idle.
 * Concurrent requests for one digest share one compile. Nothing leaves the cache unless collected: by
 * `collect` (the supervisor, with the digests its workloads need), or after each new entry when
 * `collectAfterCompile` is set (the CLI and test runner, which know of no other use).
 */
export class Compiler {
  readonly #inFlight = new Map<string, Promise<CompiledComponent>>();
  #transpiler: Transpiler | undefined;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly cacheDir: string, private readonly timeoutMs = COMPILE_TIMEOUT_MS, private readonly collectAfterCompile?: CachePolicy) {}

  compile(bytes: Uint8Array, digest: string): Promise<CompiledComponent> {
    const dir = join(this.cacheDir, entryName(digest, TOOLCHAIN));
    let pending = this.#inFlight.get(dir);
    if (!pending) {
      pending = this.#compileOnce(bytes, digest, dir).finally(() => this.#inFlight.delete(dir));
      this.#inFlight.set(dir, pending);
    }
    return pending;
  }

  /** Removes the entries `policy` does not keep (never one being compiled); the names removed. */
  collect(policy: CachePolicy): Promise<string[]> {
    const busy = [...this.#inFlight.keys()].map((dir) => basename(dir));
    return collectEntries(this.cacheDir, TOOLCHAIN, policy, (name) => busy.some((entry) => name.startsWith(entry)));
  }

  /** Ends the transpiler process now (it starts again on the next compile). */
  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    const transpiler = this.#transpiler;
    this.#transpiler = undefined;
    await transpiler?.end();
  }

  async #compileOnce(bytes: Uint8Array, digest: string, dir: string): Promise<CompiledComponent> {
    const cached = readMeta(dir);
    if (cached) {
      touchEntry(dir);
      return { digest, dir, meta: cached };
    }
    assertWasm(bytes);
    assertBounded(bytes);
    try {
      const meta = await this.#request(bytes, dir);
      if (this.collectAfterCompile) void this.collect({ ...this.collectAfterCompile, keep: new Set([digest]) }).catch(() => undefined);
      return { digest, dir, meta };
    } catch (err) {
      throw new WasmhostError('WH_ERR_COMPILE_FAILED', `cannot compile the component: ${(err as Error).message}`, { cause: err });
    }
  }

  #request(bytes: Uint8Array, outDir: string): Promise<CompiledMeta> {
    clearTimeout(this.#idleTimer);
    if (!this.#transpiler?.usable) this.#transpiler = new Transpiler(() => this.#idle());
    return this.#transpiler.transpile({ bytes, outDir }, this.timeoutMs);
  }

  /** The transpiler has nothing to do: it ends unless work comes within IDLE_MS. */
  #idle(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => void this.close(), IDLE_MS).unref();
  }
}

/**
 * One transpiler process and the compiles sent to it. When it ends (idle, killed past a deadline,
 * crashed), only its own compiles fail: a compile asked for meanwhile goes to a new process.
 */
class Transpiler {
  readonly #process: ChildProcess;
  readonly #waiting = new Map<number, { resolve: (m: CompiledMeta) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #ended = false;

  constructor(private readonly onIdle: () => void) {
    this.#process = forkChild(fileURLToPath(new URL('./compile-worker.js', import.meta.url)), [], {
      env: {},
      execArgv: [`--max-old-space-size=${COMPILE_HEAP_MB}`],
      serialization: 'advanced', // the component's bytes cross as a Uint8Array
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.#process.on('message', (response: CompileResponse) => {
      const waiter = this.#waiting.get(response.id);
      this.#waiting.delete(response.id);
      if (response.ok) waiter?.resolve(response.meta);
      else waiter?.reject(new Error(response.error));
      if (this.#waiting.size === 0 && !this.#ended) {
        holdOpen(this.#process, false);
        this.onIdle();
      }
    });
    const failAll = (err: Error) => {
      this.#ended = true;
      for (const waiter of this.#waiting.values()) waiter.reject(err);
      this.#waiting.clear();
    };
    this.#process.on('error', failAll);
    this.#process.on('exit', (code, signal) => failAll(new Error(`the transpiler process ended (${signal ?? `exit code ${code}`})`)));
  }

  /** False once it ended or was asked to end: the next compile starts a new one. */
  get usable(): boolean {
    return !this.#ended;
  }

  transpile(request: Omit<CompileRequest, 'id'>, timeoutMs: number): Promise<CompiledMeta> {
    const id = this.#nextId++;
    holdOpen(this.#process, true); // a compile in progress keeps the host alive; an idle transpiler does not
    return new Promise<CompiledMeta>((resolve, reject) => {
      // Past the deadline the process is ended (the only way to stop a transpile); other compiles in it
      // fail too and are retried by their workloads' restart policies.
      const timer = setTimeout(() => {
        this.#ended = true;
        this.#process.kill('SIGKILL');
        reject(new Error(`the transpile did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        fn(value);
      };
      this.#waiting.set(id, { resolve: settle(resolve), reject: settle(reject) });
      this.#process.send({ id, ...request } satisfies CompileRequest);
    });
  }

  /** Nothing of its is worth waiting for: a half-written output is a temporary folder. */
  end(): Promise<void> {
    this.#ended = true;
    return endChild(this.#process, () => this.#process.kill('SIGKILL'));
  }
}

/** A few hundred bytes: read in place (node:fs/promises is not loaded for it). */
function readMeta(dir: string): CompiledMeta | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, META_FILE), 'utf8')) as CompiledMeta;
  } catch {
    return undefined;
  }
}
