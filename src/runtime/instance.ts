import { once } from 'node:events';
import { join } from 'node:path';
import { WasmhostError, type ErrorCode } from '../errors.js';
import type { CompiledComponent } from './compiler.js';
import { COMPONENT_FILE } from './compile-format.js';
import type { HttpFront } from './http-front.js';
import type { CoreModules, ModuleSource } from './module-cache.js';
import { RUNNER_CRASHED, type WorkerPort } from './worker-port.js';
import { NO_HEAP, type CallStats, type Effect, type ExportName, type Fatal, type FailureReason, type GraphPlan, type HandlerCall, type HeapReport, type HostToWorker, type WorkerInit, type WorkerToHost, type WorkloadKind } from './protocol.js';

const STARTUP_TIMEOUT_MS = 30_000;
const CLOSE_GRACE_MS = 1000;
const PIPELINE = 32;

export interface InstanceConfig {
  readonly workload: string;
  /** The guest, or a graph's operator modules (in the order `graph` names them). */
  readonly components: readonly CompiledComponent[];
  /** Each component's compiled core modules, or undefined when the worker's own process compiles them (the runner). */
  readonly modules: ReadonlyArray<CoreModules | undefined>;
  readonly kind: WorkloadKind;
  /** The component's digest; a graph's is its own (the definition and every module pin). */
  readonly digest: string;
  readonly graph?: GraphPlan;
  readonly memoryMb: number;
  readonly callTimeoutMs: number;
  readonly messagesPerSecond: number;
  readonly maxMessageBytes: number;
  readonly config: Record<string, string>;
  readonly env: Record<string, string>;
  readonly args: readonly string[];
  readonly preopens: Record<string, string>;
  readonly allowedHosts: readonly string[];
  readonly storageQuotaBytes?: number;
  /** http workloads: the declared port, and the interface to serve it on. */
  readonly listen?: { readonly port: number; readonly host: string };
  readonly kvDir: string | undefined;
  readonly outbox?: WorkerInit['outbox'];
  readonly maxQueuedCalls?: number;
  /** `wasmhost run`: the guest's stdout/stderr go straight to ours instead of being captured. */
  readonly inheritStdio?: boolean;
  /** `wasmhost run` of a command: the guest runs on this thread (InlineWorker), where no deadline could stop it. */
  readonly sameThread?: boolean;
}

export interface InstanceListener {
  effects(effects: Effect[]): void;
  stdout(line: string): void;
  stderr(line: string): void;
  /** Once, when the worker is gone: `fatal` says why, undefined for a requested stop. */
  ended(fatal: Fatal | undefined): void;
  /** An http request failed in the guest (trap, oom, exit); it was answered 500 and the workload serves on. */
  requestFailed?(error: string): void;
  /** After each call that returned (ok or err), with what the worker measured. */
  called?(fn: ExportName, ok: boolean, stats: CallStats): void;
}

/** A call that may run as long as it likes: a command's `run` (its end is the command's end). */
const NO_DEADLINE = Symbol('no deadline');

interface PendingCall {
  readonly id: number;
  readonly call: HandlerCall;
  readonly timeoutMs: number | typeof NO_DEADLINE;
  resolve(value: string | undefined): void;
  reject(err: WasmhostError): void;
}

const FATAL_CODES: Record<FailureReason, ErrorCode> = {
  oom: 'WH_ERR_OOM',
  timeout: 'WH_ERR_CALL_TIMEOUT',
  trap: 'WH_ERR_TRAP',
  exit: 'WH_ERR_EXIT',
  budget: 'WH_ERR_GUEST',
  'init-failed': 'WH_ERR_GUEST',
  crash: 'WH_ERR_CRASH',
};

/** A call that ended the instance; `fatal` says why (reason, exit code). */
export class GuestFatalError extends WasmhostError {
  constructor(readonly fatal: Fatal) {
    super(FATAL_CODES[fatal.reason], fatal.message);
  }
}

/**
 * One running workload: a worker thread holding one guest instance (wasmtime's Store). Calls run one at
 * a time in order; each has a deadline, and a missed deadline ends the worker (the only way to stop a
 * guest stuck in a loop). After any fatal error the instance is gone; the supervisor makes a new one.
 */
export class WorkloadInstance {
  readonly #worker: WorkerPort;
  readonly #config: InstanceConfig;
  readonly #listener: InstanceListener;
  readonly #queue: PendingCall[] = [];
  readonly #stdioDone: Promise<unknown>;
  /** Sent to the worker, awaiting results, in order; the worker runs them one after another. */
  readonly #inFlight: PendingCall[] = [];
  #idleWaiters: Array<() => void> = [];
  #deadline: NodeJS.Timeout | undefined;
  #nextId = 1;
  #memoryBytes = 0;
  #heap: HeapReport = NO_HEAP;
  /** An http request is in the guest. */
  #serving = false;
  #ended = false;
  /** The guest is instantiated (before that, the worker is in the guest: instantiating, init). */
  #ready = false;
  #closing = false;
  #endedPromise: Promise<void> | undefined;
  /** http workloads: the declared port, served by the host. */
  #front: HttpFront | undefined;

  private constructor(config: InstanceConfig, listener: InstanceListener, worker: WorkerPort) {
    this.#config = config;
    this.#worker = worker;
    this.#listener = listener;
    const init: WorkerInit = {
      workload: config.workload,
      components: config.components.map((compiled, i) => ({
        componentFile: join(compiled.dir, COMPONENT_FILE),
        moduleSource: moduleSourceOf(compiled, config.memoryMb),
        modules: config.modules[i],
        imports: [...compiled.meta.imports],
      })),
      kind: config.kind,
      graph: config.graph,
      reuseHttpInstance: config.kind === 'http' && config.components[0]?.meta.instancePerRequest === false,
      memoryLimitBytes: config.memoryMb * 1048576,
      config: Object.entries(config.config),
      env: config.env,
      args: [...config.args],
      preopens: config.preopens,
      allowedHosts: [...config.allowedHosts],
      storageQuotaBytes: config.storageQuotaBytes,
      // The guest's server listens on loopback only; the host's HttpFront owns the declared port.
      listen: config.listen && { port: 0, host: '127.0.0.1' },
      kvDir: config.kvDir,
      outbox: config.outbox,
      digest: config.digest,
      captureStdio: !config.inheritStdio,
      messagesPerSecond: config.messagesPerSecond,
      maxMessageBytes: config.maxMessageBytes,
    };
    worker.postMessage({ type: 'init', init } satisfies HostToWorker);
    const { stdout, stderr } = worker;
    if (stdout && stderr) {
      // Guest output arrives as 'stdio' messages; the streams only carry what the worker writes before it is told who it runs.
      stdout.resume();
      stderr.resume();
      this.#stdioDone = Promise.all([once(stdout, 'end'), once(stderr, 'end')]).catch(() => undefined);
    } else {
      this.#stdioDone = Promise.resolve();
    }
  }

  /**
   * Instantiates the guest in `worker` (from spawnWorkloadWorker: it captures stdio unless the config
   * inherits it); resolves once the guest is ready for calls.
   */
  static async start(config: InstanceConfig, listener: InstanceListener, worker: WorkerPort): Promise<WorkloadInstance> {
    const instance = new WorkloadInstance(config, listener, worker);
    const httpPort = await instance.#waitReady();
    if (config.listen && httpPort !== undefined) {
      const { port, host } = config.listen;
      try {
        // Loaded by http workloads only: node:http's module view costs Node 22/24 an undici load.
        const { HttpFront } = await import('./http-front.js');
        instance.#front = await HttpFront.listen(port, host, httpPort);
      } catch (err) {
        await instance.stop();
        throw new WasmhostError('WH_ERR_INSTANTIATE_FAILED', `cannot listen on ${host}:${port}: ${(err as Error).message}`);
      }
      if (instance.#ended) void instance.#front.close(); // ended while it bound the port
    }
    return instance;
  }

  get workload(): string {
    return this.#config.workload;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The guest's linear memory as of its last call. */
  get memoryBytes(): number {
    return this.#memoryBytes;
  }

  /** The worker's JS heap, as it last reported (every few seconds). */
  get heap(): HeapReport {
    return this.#heap;
  }

  /** http workloads: the port the host serves it on (the system's choice when `listen.port` is 0). */
  get httpPort(): number | undefined {
    return this.#front?.port;
  }

  /** Calls queued or running, plus an http request in the guest. */
  get queued(): number {
    return this.#queue.length + this.#inFlight.length + (this.#serving ? 1 : 0);
  }

  /**
   * Queues a guest call. Every call has `callTimeoutMs` as its deadline except a command's `run`,
   * which runs to its end (it is the whole program, not a call into it).
   */
  call(call: HandlerCall): Promise<string | undefined> {
    const timeoutMs = call.fn === 'run' ? NO_DEADLINE : this.#config.callTimeoutMs;
    if (this.#ended) return Promise.reject(new WasmhostError('WH_ERR_NOT_RUNNING', `${this.workload} is not running`));
    if (this.#queue.length >= (this.#config.maxQueuedCalls ?? 1000)) {
      return Promise.reject(new WasmhostError('WH_ERR_QUEUE_FULL', `${this.workload} has ${this.#queue.length} calls queued`));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, call, timeoutMs, resolve, reject });
      this.#pump();
    });
  }

  /** Resolves true once no call is queued or running, or false after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.queued === 0 || this.#ended) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stops the worker; calls still queued fail with WH_ERR_NOT_RUNNING. */
  stop(): Promise<void> {
    return this.#end(undefined);
  }

  /** Lets the worker finish on its own (flushing its stdout), then ends it. For commands that returned. */
  async close(): Promise<void> {
    if (!this.#ended) await this.#drain();
    return this.#end(undefined);
  }

  /** Asks the worker to end by itself so its last stdout/stderr lines arrive; terminates it after a grace period. */
  async #drain(): Promise<void> {
    this.#closing = true;
    this.#worker.postMessage({ type: 'close' } satisfies HostToWorker);
    const timer = setTimeout(() => void this.#worker.terminate(), CLOSE_GRACE_MS);
    await once(this.#worker, 'exit').catch(() => undefined);
    clearTimeout(timer);
  }

  /** Resolves once the guest is instantiated, with the internal port its http server got (http workloads). */
  #waitReady(): Promise<number | undefined> {
    return new Promise((resolve, reject) => {
      const fail = (message: string, fatal: Fatal, code: ErrorCode = 'WH_ERR_INSTANTIATE_FAILED') => {
        void this.#end(fatal);
        reject(new WasmhostError(code, message));
      };
      const timer = setTimeout(() => fail('instantiation timed out', { reason: 'timeout', message: 'instantiation timed out' }), STARTUP_TIMEOUT_MS);
      this.#worker.on('message', (message: WorkerToHost) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          this.#ready = true;
          if (message.effects.length) this.#listener.effects(message.effects);
          resolve(message.httpPort);
        } else if (message.type === 'startup-failed') {
          clearTimeout(timer);
          fail(message.error, { reason: 'init-failed', message: message.error }, message.code);
        } else {
          this.#onMessage(message);
        }
      });
      this.#worker.on('error', (err: Error & { code?: string }) => {
        clearTimeout(timer);
        const fatal = this.#fatalFromError(err);
        reject(new WasmhostError(fatal.reason === 'crash' ? 'WH_ERR_CRASH' : 'WH_ERR_INSTANTIATE_FAILED', err.message));
        void this.#end(fatal);
      });
      this.#worker.on('exit', () => {
        clearTimeout(timer);
        reject(new WasmhostError('WH_ERR_INSTANTIATE_FAILED', 'worker exited during start'));
        void this.#end(this.#closing ? undefined : { reason: 'trap', message: 'worker exited unexpectedly' });
      });
    });
  }

  /**
   * Why the worker failed. When the runner process died, every instance in it ended: the ones that were
   * in the guest (a call, a request, instantiating) may have caused it and are `crash`; the others are
   * bystanders.
   */
  #fatalFromError(err: Error & { code?: string }): Fatal {
    if (err.code === RUNNER_CRASHED) {
      const inGuest = !this.#ready || this.#inFlight.length > 0 || this.#serving;
      return { reason: 'crash', message: err.message, bystander: !inGuest };
    }
    return { reason: err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'trap', message: err.message };
  }

  #onMessage(message: WorkerToHost): void {
    if (message.type === 'effects') {
      this.#listener.effects(message.effects);
      return;
    }
    if (message.type === 'heap') {
      this.#heap = { usedBytes: message.usedBytes, committedBytes: message.committedBytes };
      return;
    }
    if (message.type === 'stdio') {
      const deliver = message.stream === 'stdout' ? this.#listener.stdout : this.#listener.stderr;
      for (const line of message.lines) deliver.call(this.#listener, line);
      return;
    }
    if (message.type === 'request' || message.type === 'responded') return this.#onRequest(message);
    if (message.type !== 'result') return;
    const head = this.#inFlight[0];
    if (!head || head.id !== message.id) return;
    this.#inFlight.shift();
    clearTimeout(this.#deadline);
    this.#finished(head.call.fn, message);
    if (message.ok) {
      head.resolve(message.value);
    } else if (message.fatal) {
      head.reject(new GuestFatalError(message.fatal));
      void this.#end(message.fatal);
      return;
    } else {
      head.reject(new WasmhostError('WH_ERR_GUEST', message.error));
    }
    this.#armDeadline();
    this.#pump();
    if (this.queued === 0) this.#notifyIdle();
  }

  /** An http request in the guest has the same deadline as a call. */
  #onRequest(message: Extract<WorkerToHost, { type: 'request' | 'responded' }>): void {
    clearTimeout(this.#deadline);
    this.#serving = message.type === 'request';
    if (message.type === 'request') return this.#startDeadline('handle', this.#config.callTimeoutMs);
    this.#finished('handle', message);
    if (message.error) this.#listener.requestFailed?.(message.error);
    if (this.queued === 0) this.#notifyIdle();
  }

  /** What every guest call that returned reports: its measurements (metrics) and its effects. */
  #finished(fn: ExportName, message: CallStats & { ok: boolean; effects: Effect[] }): void {
    this.#memoryBytes = message.memoryBytes;
    this.#listener.called?.(fn, message.ok, message);
    if (message.effects.length) this.#listener.effects(message.effects);
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Keeps up to PIPELINE calls posted to the worker, so a call does not wait a message round trip for
   * the one before it. Only the head call is running; its deadline starts when it becomes the head,
   * which is when the worker starts it (to within one message latency).
   */
  #pump(): void {
    while (!this.#ended && this.#inFlight.length < PIPELINE && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      this.#inFlight.push(next);
      this.#worker.postMessage({ type: 'call', id: next.id, call: next.call } satisfies HostToWorker);
      if (this.#inFlight.length === 1) this.#armDeadline();
    }
  }

  #armDeadline(): void {
    const head = this.#inFlight[0];
    if (!head || head.timeoutMs === NO_DEADLINE || this.#ended) return;
    this.#startDeadline(head.call.fn, head.timeoutMs);
  }

  /** Past `ms` the worker ends: the only way to stop a guest stuck in a loop. */
  #startDeadline(what: string, ms: number): void {
    this.#deadline = setTimeout(() => void this.#end({ reason: 'timeout', message: `${what} did not return within limits.callTimeoutMs (${ms} ms)` }), ms);
  }

  #end(fatal: Fatal | undefined): Promise<void> {
    if (this.#endedPromise) return this.#endedPromise;
    this.#ended = true;
    clearTimeout(this.#deadline);
    const error = fatal ? new GuestFatalError(fatal) : new WasmhostError('WH_ERR_NOT_RUNNING', `${this.workload} was stopped`);
    for (const pending of [...this.#inFlight.splice(0), ...this.#queue.splice(0)]) pending.reject(error);
    this.#notifyIdle();
    this.#endedPromise = (async () => {
      await this.#front?.close(); // no new requests for a guest that is going
      if (fatal?.reason === 'exit') await this.#drain(); // a guest that called exit may have printed last words
      await this.#worker.terminate();
      await this.#stdioDone;
      this.#listener.ended(fatal);
    })();
    return this.#endedPromise;
  }
}

/** Where a compiled component's core modules are, and the memory cap to write into them. */
export function moduleSourceOf(compiled: CompiledComponent, memoryMb: number): ModuleSource {
  return { dir: compiled.dir, files: compiled.meta.coreModules, memoryMb };
}
