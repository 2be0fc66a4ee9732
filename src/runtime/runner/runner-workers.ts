import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WasmhostError } from '../../errors.js';
import type { WorkerSource } from '../worker-port.js';
import type { HostToRunner, RunnerToHost } from './protocol.js';
import { endChild, forkChild, holdOpen } from '../hold-open.js';
import { RemoteWorker } from './remote-worker.js';
import { RELAY_MS } from './timing.js';
import { runnerAllocatorEnv } from './allocator.js';
import { COMPACT_FLAG, EXPOSE_GC_FLAG } from '../paced-gc.js';

const CLOSE_GRACE_MS = 3000;
const RUNNER_SEMI_SPACE_MB = 1;

/** What the host knows of its runner process (metrics). */
export interface RunnerStats {
  readonly pid: number | undefined;
  readonly rssBytes: number;
  /** The JS heap its main thread (the relay between host and workers) holds, committed. */
  readonly heapBytes: number;
  /** Runner processes that ended without being asked to (crashes). */
  readonly crashes: number;
}

/**
 * The runner's V8 flags. Its main thread only relays messages, which die young: a young generation of
 * V8's default maximum (32 MB, which the IoT Edge runner reached) buys it nothing. With `pacedGc`, every
 * isolate in it has a `gc()`, paces its own full collections and compacts at each (paced-gc.ts).
 */
export function runnerHeapFlags(pacedGc: boolean): string[] {
  return [`--max-semi-space-size=${RUNNER_SEMI_SPACE_MB}`, ...(pacedGc ? [EXPOSE_GC_FLAG, COMPACT_FLAG] : [])];
}

/** One runner process and the workers the host asked it for. */
class RunnerChild {
  readonly workers = new Map<number, RemoteWorker>();
  readonly process: ChildProcess;
  rssBytes = 0;
  heapBytes = 0;
  #gone = false;

  constructor(pacedGc: boolean, onExit: (child: RunnerChild) => void) {
    this.process = forkChild(fileURLToPath(new URL('./main.js', import.meta.url)), [], {
      serialization: 'advanced', // structured clone: message bodies stay Uint8Arrays
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'], // a V8 fatal error's report lands in the module's log
      execArgv: [...process.execArgv.filter((flag) => flag.startsWith('--experimental-wasm')), ...runnerHeapFlags(pacedGc)],
      env: { ...runnerAllocatorEnv(process.env), ...process.env },
    });
    this.process.on('message', (message: RunnerToHost) => {
      if (message.type === 'stats') ({ rssBytes: this.rssBytes, heapBytes: this.heapBytes } = message);
      else this.workers.get(message.id)?.received(message);
      if (message.type === 'exit') this.#forget(message.id);
    });
    const ended = (how: string) => {
      if (this.#gone) return;
      this.#gone = true;
      onExit(this);
      for (const worker of this.workers.values()) worker.runnerDied(how);
      this.workers.clear();
    };
    this.process.on('exit', (code, signal) => ended(signal ?? `exit code ${code}`));
    this.process.on('error', (err) => ended(err.message));
  }

  get alive(): boolean {
    return !this.#gone;
  }

  send(message: HostToRunner): void {
    if (!this.#gone && this.process.connected) this.process.send(message);
  }

  spawn(id: number): RemoteWorker {
    const worker = new RemoteWorker(id, (message) => this.send(message));
    this.workers.set(id, worker);
    holdOpen(this.process, true);
    this.send({ type: 'spawn', id });
    return worker;
  }

  #forget(id: number): void {
    this.workers.delete(id);
    if (this.workers.size === 0) holdOpen(this.process, false);
  }
}

/**
 * Workers in one runner process shared by every workload (a thread each inside it), started when
 * first needed and again after it dies. The runner compiles and caches the core modules itself.
 */
export class RunnerWorkers implements WorkerSource {
  readonly #pacedGc: boolean;
  #child: RunnerChild | undefined;
  #nextId = 1;
  #crashes = 0;
  #closing = false;
  readonly #relay = setInterval(() => {
    for (const worker of this.#child?.workers.values() ?? []) worker.relayCounters();
  }, RELAY_MS).unref();

  constructor(pacedGc: boolean) {
    this.#pacedGc = pacedGc;
  }

  take(inheritStdio: boolean): RemoteWorker {
    if (inheritStdio) throw new WasmhostError('WH_ERR_INSTANTIATE_FAILED', "a guest in the runner process cannot write to this process's stdout; use worker placement 'threads'");
    if (!this.#child?.alive) this.#child = new RunnerChild(this.#pacedGc, (child) => this.#ended(child));
    const worker = this.#child.spawn(this.#nextId++);
    return worker;
  }

  coreModules(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  stats(): RunnerStats {
    const child = this.#child?.alive ? this.#child : undefined;
    return { pid: child?.process.pid, rssBytes: child?.rssBytes ?? 0, heapBytes: child?.heapBytes ?? 0, crashes: this.#crashes };
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#relay);
    const child = this.#child;
    if (!child?.alive) return;
    await endChild(child.process, () => child.process.disconnect(), CLOSE_GRACE_MS); // the runner ends itself on disconnect
  }

  #ended(child: RunnerChild): void {
    if (this.#child === child) this.#child = undefined;
    if (!this.#closing) this.#crashes++; // each of its workloads says why in its own status and log
  }
}
