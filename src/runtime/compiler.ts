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
  readonly #waiting = new Map<number, { resolve: (m: CompiledMeta) => void; reject: (e: Error) => void }>();
  #worker: ChildProcess | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #nextId = 1;

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
    const worker = this.#worker;
    this.#worker = undefined;
    // Nothing of its is worth waiting for: a half-written output is a temporary folder.
    if (worker) await endChild(worker, () => worker.kill('SIGKILL'));
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
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    holdOpen(worker, true); // a compile in progress keeps the host alive; an idle transpiler does not
    return new Promise<CompiledMeta>((resolve, reject) => {
      // Past the deadline the process is ended (the only way to stop a transpile); other compiles in it
      // fail too and are retried by their workloads' restart policies.
      const timer = setTimeout(() => {
        if (this.#worker === worker) this.#worker = undefined;
        worker.kill('SIGKILL');
        reject(new Error(`the transpile did not finish within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        fn(value);
      };
      this.#waiting.set(id, { resolve: settle(resolve), reject: settle(reject) });
      worker.send({ id, bytes, outDir } satisfies CompileRequest);
    });
  }

  #ensureWorker(): ChildProcess {
    if (this.#worker) return this.#worker;
    const worker = forkChild(fileURLToPath(new URL('./compile-worker.js', import.meta.url)), [], {
      env: {},
      execArgv: [`--max-old-space-size=${COMPILE_HEAP_MB}`],
      serialization: 'advanced', // the component's bytes cross as a Uint8Array
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    worker.on('message', (response: CompileResponse) => {
      const waiter = this.#waiting.get(response.id);
      this.#waiting.delete(response.id);
      if (response.ok) waiter?.resolve(response.meta);
      else waiter?.reject(new Error(response.error));
      if (this.#waiting.size === 0) {
        holdOpen(worker, false);
        this.#idleTimer = setTimeout(() => void this.close(), IDLE_MS).unref();
      }
    });
    const failAll = (err: Error) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const waiter of this.#waiting.values()) waiter.reject(err);
      this.#waiting.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code, signal) => failAll(new Error(`the transpiler process ended (${signal ?? `exit code ${code}`})`)));
    this.#worker = worker;
    return worker;
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
