import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { errorText, isWasmhostError, WasmhostError } from '../errors.js';
import type { Fetcher } from '../fetch/index.js';
import { LogRing, type Logger } from '../ops/index.js';
import { NO_HEAP, type CallStats, type Effect, type ExportName, type Engine, type GraphPlan, type HeapReport, type StartOptions, type Fatal, type FailureReason, type GuestMessage, type HandlerCall, type LogLevel, type WorkloadInstance, type WorkloadKind } from '../runtime/index.js';
import type { WorkloadSpec } from '../spec/index.js';
import { BusyWindow } from './busy-window.js';
import { pullGraph } from './graph-pull.js';
import { decideAfterExit, type BackoffSettings } from './restart-policy.js';
import { WorkloadOutput, type OutputContext } from './workload-output.js';
import type { WorkloadMeter, WorkloadState, WorkloadStatus } from '../base/index.js';

/** What a Workload needs from the host (its output side's needs included); the Supervisor provides it. */
export interface WorkloadContext extends OutputContext {
  readonly engine: Engine;
  readonly fetcher: Fetcher;
  readonly dataDir: string;
  readonly backoff: BackoffSettings;
  readonly log: Logger;
  /** The interface http workloads listen on (their port is their own, from capabilities.listen). */
  readonly listenHost: string;
  statusChanged(name: string): void;
  /** The workload reached running with these blobs: its last-known-good version, kept in the cache. */
  healthy(name: string, blobs: readonly string[]): void;
  /**
   * An instance failed and its restart policy was applied. The supervisor may decide more (a rollback
   * within an update's probation window): it then stops this Workload, which ends any restart.
   */
  failed(workload: Workload, reason: FailureReason, message: string): void;
  meter(name: string): WorkloadMeter;
  now(): number;
}

/** Errors a retry cannot fix: the workload goes to `failed` until its desired spec changes. */
const PERMANENT: ReadonlySet<string> = new Set([
  'WH_ERR_DIGEST_MISMATCH', 'WH_ERR_SOURCE_UNSUPPORTED', 'WH_ERR_SOURCE_NOT_ALLOWED', 'WH_ERR_BLOB_TOO_LARGE',
  'WH_ERR_NOT_WASM', 'WH_ERR_COMPILE_FAILED', 'WH_ERR_KIND_UNSUPPORTED', 'WH_ERR_LISTEN_REQUIRED', 'WH_ERR_MEMORY_LIMIT', 'WH_ERR_GRAPH_INVALID',
]);
const MAX_ERROR_CHARS = 512;
/** How often a graph with an accumulate looks for windows to close, unless its timerMs says otherwise. */
const GRAPH_TICK_MS = 100;
/** Calls that may wait while an update starts (instantiate + init: tens of milliseconds). */
const MAX_HELD_CALLS = 1000;

/**
 * One supervised workload: pulls, starts and restarts its instance per the restart policy, feeds it
 * timer ticks and messages, and turns what it does into telemetry, logs and status. One per desired
 * spec: a changed spec gets a new Workload.
 */
export class Workload {
  readonly logs = new LogRing();
  readonly #busy = new BusyWindow();
  readonly #ctx: WorkloadContext;
  readonly #log: Logger;
  readonly #meter: WorkloadMeter;
  readonly #output: WorkloadOutput;
  #state: WorkloadState = 'stopped';
  #since: number;
  #instance: WorkloadInstance | undefined;
  #digest: string | null = null;
  #blobs: readonly string[] = [];
  #kind: WorkloadKind | null = null;
  #restarts = 0;
  #lastError: string | null = null;
  #lastExit: { reason: FailureReason; code: number | null } | null = null;
  #startedAt = 0;
  #nextRestartAt: number | null = null;
  #restartTimer: NodeJS.Timeout | undefined;
  #tickTimer: NodeJS.Timeout | undefined;
  /** Bumped on every launch and stop, so late results of an older launch are ignored. */
  #generation = 0;
  #accepting = true;
  /** Set while started as an update candidate: settles when it is running, or fails to get there. */
  #candidate: { resolve: () => void; reject: (err: Error) => void; beforeInstance: () => Promise<void> } | undefined;
  /** Set while held for an update: calls wait here (see hold()). */
  #held: Array<{ call: HandlerCall; resolve: (value: string | undefined) => void; reject: (err: unknown) => void }> | undefined;
  /** hold() had to stop the instance: release() without a successor starts it again. */
  #stoppedForHold = false;
  /** It reached running and has neither failed nor been stopped since (see inService). */
  #upright = false;
  /** Settles once the last instance stopped is gone (see #stopInstance). */
  #lastStop: Promise<void> = Promise.resolve();
  /** Set when this version stays (or came back) because a newer one failed: that version, and why. */
  #rolledBackFrom: RolledBack | null;

  constructor(readonly spec: WorkloadSpec, ctx: WorkloadContext, readonly desiredVersion: number | null, rolledBackFrom: RolledBack | null = null) {
    this.#rolledBackFrom = rolledBackFrom;
    this.#ctx = ctx;
    this.#log = ctx.log.forWorkload(spec.name);
    this.#meter = ctx.meter(spec.name);
    this.#since = ctx.now();
    this.#output = new WorkloadOutput(spec.name, ctx, {
      guestLog: (level, text) => this.#guestLog(level, text),
      warn: (text) => this.#warnInStatus(text),
      measured: (measured) => this.#meter.graph(measured),
    });
  }

  get name(): string {
    return this.spec.name;
  }

  get state(): WorkloadState {
    return this.#state;
  }

  get digest(): string | null {
    return this.#digest;
  }

  /**
   * Running, or being started again after it ran, neither failing nor stopped since (an operator's
   * restart, a bystander's, a hold's): a version an update must not lose. Not one that is failing,
   * stopped, or has never run.
   */
  get inService(): boolean {
    return this.#state === 'running' || ((this.#state === 'pulling' || this.#state === 'starting') && this.#upright);
  }

  /** The cached blobs the version last pulled was made of (a graph has several). */
  get blobs(): readonly string[] {
    return this.#blobs;
  }

  /** The running instance's linear memory (0 when none runs). */
  get memoryBytes(): number {
    return this.#instance?.memoryBytes ?? 0;
  }

  /** The running instance's worker JS heap (zeros when none runs). */
  get heap(): HeapReport {
    return this.#instance?.heap ?? NO_HEAP;
  }

  /** Time inside guest calls over the last ten seconds, as a percentage of one core. */
  get usedCpuPercent(): number {
    return this.#busy.percent(this.#ctx.now());
  }

  status(): WorkloadStatus {
    return {
      name: this.name,
      status: this.#state,
      digest: this.#digest && `sha256:${this.#digest}`,
      kind: this.#kind,
      since: new Date(this.#since).toISOString(),
      restarts: this.#restarts,
      lastError: this.#lastError,
      lastExitReason: this.#lastExit?.reason ?? null,
      lastExitCode: this.#lastExit?.code ?? null,
      nextRestartAt: this.#nextRestartAt === null ? null : new Date(this.#nextRestartAt).toISOString(),
      rolledBackFrom: this.#rolledBackFrom,
      desiredVersion: this.desiredVersion,
      messagesSent: this.#output.sent,
      messagesRefused: this.#output.refused,
      messagesDropped: this.#output.dropped,
    };
  }

  /**
   * Starts as an update candidate: resolves once it runs (init passed), rejects if it cannot get there.
   * `beforeInstance` runs once its blob is pulled and compiled, just before its guest is instantiated
   * (the supervisor holds the previous version there). A candidate that fails to start is left failed
   * and never retried: the previous version stays.
   */
  startCandidate(beforeInstance: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#candidate = { resolve, reject, beforeInstance };
      this.start();
    });
  }

  /**
   * Makes way for an update's new version, which opens this workload's kv and `/data` next: from now on
   * calls wait (up to MAX_HELD_CALLS) instead of reaching the guest, ticks pause, and the calls already
   * in the guest finish within `graceMs`. Two versions never write the same state at once. An instance
   * that cannot be paused (a command, one not running, a call that overruns) is stopped instead.
   */
  async hold(graceMs: number): Promise<void> {
    this.#held = [];
    const instance = this.#instance;
    if (this.#state === 'running' && (this.#kind === 'handler' || this.#kind === 'graph') && instance && (await instance.idle(graceMs))) return;
    if (this.#state === 'stopped') return; // the operator stopped it meanwhile: a refused update must not start it again
    this.#stoppedForHold = true;
    this.#generation++;
    await this.#stopInstance();
  }

  /** Ends a hold: the waiting calls go to `successor` (the update took over) or back to this version. */
  release(successor?: Workload): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    if (this.#stoppedForHold && !successor) this.start();
    this.#stoppedForHold = false;
    for (const { call, resolve, reject } of held) (successor ?? this).#call(call).then(resolve, reject);
  }

  /** Starts (or restarts) now, whatever the current state. */
  start(): void {
    void this.#stopInstance();
    this.#launch(++this.#generation);
  }

  async stop(): Promise<void> {
    this.#generation++;
    this.#candidate?.reject(new WasmhostError('WH_ERR_SUPERSEDED', `${this.name}: this version was stopped before it ran`));
    this.#candidate = undefined;
    this.#upright = false;
    await this.#stopInstance();
    this.#setState('stopped');
  }

  /**
   * Graceful stop (SIGTERM): no new ticks or messages, calls already queued or running may finish
   * within `graceMs`, then the instance ends. What they sent before that is delivered as usual.
   */
  async shutdown(graceMs: number): Promise<void> {
    clearInterval(this.#tickTimer);
    clearTimeout(this.#restartTimer);
    this.#accepting = false;
    if (this.#kind !== 'command') await this.#instance?.idle(graceMs); // a handler's calls, an http request
    await this.stop();
  }

  /** A line for this workload's log (and getWorkloadLogs) from the host. */
  note(text: string): void {
    this.logs.push('info', text);
    this.#log.info(text);
  }

  /**
   * The running version stays because its update (`failed`) could not start; say so in the status.
   * `retryInMs`: not refused for good, its pull is tried again then.
   */
  updateRefused(failed: RolledBack, retryInMs?: number): void {
    this.#rolledBackFrom = failed;
    const forGood = retryInMs === undefined;
    this.#lastError = cut(forGood
      ? `update refused, still running the previous version: ${failed.reason}`
      : `update not pulled yet, still running the previous version: ${failed.reason}; trying again in ${retryInMs} ms`);
    this.logs.push(forGood ? 'error' : 'warn', this.#lastError);
    this.#log.log(forGood ? 'error' : 'warn', this.#lastError);
    this.#ctx.statusChanged(this.name);
  }

  /** Calls the guest's on-method; the result or error goes back to the caller (invokeWorkload). */
  invoke(method: string, payload: string): Promise<string | undefined> {
    return this.#call({ fn: 'onMethod', name: method, payload });
  }

  /** Delivers an edgeHub input or local topic message; dropped (and counted) when not running. */
  deliver(source: string, msg: GuestMessage): void {
    this.#call({ fn: 'onMessage', source, msg }).catch((err: unknown) => {
      if (isWasmhostError(err, 'WH_ERR_NOT_RUNNING') || isWasmhostError(err, 'WH_ERR_QUEUE_FULL')) this.#output.dropped++;
      else if (isWasmhostError(err, 'WH_ERR_GUEST')) this.#guestError('on-message', err);
    });
  }

  #call(call: HandlerCall): Promise<string | undefined> {
    if (this.#held) {
      if (this.#held.length >= MAX_HELD_CALLS) return Promise.reject(new WasmhostError('WH_ERR_QUEUE_FULL', `${this.name} holds ${MAX_HELD_CALLS} calls while its update starts`));
      return new Promise((resolve, reject) => this.#held!.push({ call, resolve, reject }));
    }
    const callable = this.#kind === 'handler' || (this.#kind === 'graph' && call.fn !== 'onMethod');
    if (!this.#accepting || this.#state !== 'running' || !this.#instance || !callable) {
      const noHandler = this.#kind && !callable ? ` (it is a ${this.#kind} workload: no handler to call)` : '';
      return Promise.reject(new WasmhostError('WH_ERR_NOT_RUNNING', `${this.name} is ${this.#state}${noHandler}`));
    }
    return this.#instance.call(call);
  }

  #launch(generation: number): void {
    this.#nextRestartAt = null;
    this.#setState('pulling');
    const current = () => generation === this.#generation;
    this.#bringUp(current).catch((err: unknown) => {
      if (!current()) return;
      const reason: FailureReason = isWasmhostError(err, 'WH_ERR_GUEST') ? 'init-failed' : isFatalCode(err) ?? 'init-failed';
      const candidate = this.#candidate;
      this.#candidate = undefined;
      this.#failed(reason, errorText(err), null, !candidate && (!isWasmhostError(err) || !PERMANENT.has(err.code)));
      candidate?.reject(new WasmhostError(isWasmhostError(err) ? err.code : 'WH_ERR_INSTANTIATE_FAILED', `${reason}: ${errorText(err)}`));
    });
  }

  async #bringUp(current: () => boolean): Promise<void> {
    const { spec } = this;
    await this.#lastStop;
    if (!current()) return;
    const onRetry = (attempt: number, err: Error, delayMs: number) => {
      if (!current()) return;
      this.#lastError = cut(`pull attempt ${attempt} failed: ${err.message}; retrying in ${delayMs} ms`);
      this.#log.warn(this.#lastError);
      this.#ctx.statusChanged(this.name);
    };
    // A component is pulled and compiled; a graph, its definition and every module it names.
    const pulled = spec.graph
      ? await pullGraph(spec, this.#ctx.fetcher, this.#ctx.engine, onRetry)
      : await this.#ctx.fetcher.fetch(spec.source!, spec.sha256, onRetry).then(async (blob) => ({ digest: blob.digest, blobs: [blob.digest], compiled: await this.#ctx.engine.compile(blob.bytes, blob.digest) }));
    if (!current()) return;
    this.#digest = pulled.digest;
    this.#blobs = pulled.blobs;
    if (this.#candidate) await this.#candidate.beforeInstance();
    if (!current()) return;
    this.#kind = 'compiled' in pulled ? (pulled.compiled.meta.kind ?? null) : 'graph';
    this.#setState('starting');
    const workloadDir = join(this.#ctx.dataDir, 'workloads', spec.name);
    const dataDir = join(workloadDir, 'data');
    if (spec.capabilities.storage) await mkdir(dataDir, { recursive: true });
    const options: StartOptions = {
      workload: spec.name,
      memoryMb: spec.limits.memoryMb,
      callTimeoutMs: spec.limits.callTimeoutMs,
      messagesPerSecond: spec.limits.messagesPerSecond,
      maxMessageBytes: spec.limits.maxMessageBytes,
      config: spec.config,
      env: spec.env,
      args: spec.args,
      preopens: spec.capabilities.storage ? { '/data': dataDir } : {},
      allowedHosts: spec.capabilities.http?.allowedHosts ?? [],
      storageQuotaBytes: spec.capabilities.storage && spec.capabilities.storage.quotaMb * 1048576,
      listen: spec.capabilities.listen && { port: spec.capabilities.listen.port, host: this.#ctx.listenHost },
      kvDir: join(workloadDir, 'kv'),
      outbox: this.#output.instanceStarting(pulled.digest, this.#kind),
    };
    const instance = 'compiled' in pulled
      ? await this.#ctx.engine.start(pulled.compiled, options, this.#listener(current))
      : await this.#ctx.engine.startGraph(pulled.components, pulled.plan, pulled.digest, options, this.#listener(current));
    if (!current()) return void instance.stop();
    this.#instance = instance;
    this.#startedAt = this.#ctx.now();
    if (this.#kind === 'handler' || this.#kind === 'graph') {
      await instance.call({ fn: 'init' });
      if (!current()) return;
      this.#setState('running');
      this.#log.info(`running ${this.#digest?.slice(0, 12)} (${this.#kind})`);
      const tickMs = 'plan' in pulled ? graphTickMs(pulled.plan, spec.timerMs) : spec.timerMs;
      if (tickMs) this.#tickTimer = setInterval(() => this.#tick(), tickMs);
    } else if (this.#kind === 'http') {
      this.#setState('running'); // serving since the instance started: no init to call
      this.#log.info(`running ${this.#digest?.slice(0, 12)} (http, on port ${spec.capabilities.listen?.port})`);
    } else {
      this.#setState('running');
      this.#log.info(`running ${this.#digest?.slice(0, 12)} (command)`);
      instance.call({ fn: 'run' }).then(
        () => current() && this.#commandEnded(instance, 0),
        (err: unknown) => current() && isWasmhostError(err, 'WH_ERR_GUEST') && this.#commandEnded(instance, 1),
      );
    }
  }

  #tick(): void {
    const instance = this.#instance;
    if (!instance || this.#state !== 'running' || instance.queued > 0 || this.#held) return; // never pile up ticks
    instance.call({ fn: 'onTimer' }).catch((err: unknown) => {
      if (isWasmhostError(err, 'WH_ERR_GUEST')) this.#guestError('on-timer', err);
    });
  }

  #guestError(fn: string, err: WasmhostError): void {
    this.#warnInStatus(`${fn} returned err: ${err.message}`);
  }

  /** A problem the workload lives on with: in its log, the host log and its status' lastError. */
  #warnInStatus(text: string): void {
    this.#lastError = cut(text);
    this.logs.push('warn', this.#lastError);
    this.#log.warn(this.#lastError);
    this.#ctx.statusChanged(this.name);
  }

  /** A command's `run` returned: wait for its last stdout lines, then apply the restart policy. */
  #commandEnded(instance: WorkloadInstance, code: number): void {
    const generation = this.#generation;
    void instance.close().then(() => {
      if (generation !== this.#generation) return;
      if (code === 0) this.#exited(true, 'exit', 0, 'exited with code 0');
      else this.#failed('exit', 'run returned err (exit code 1)', 1, true);
    });
  }

  #listener(current: () => boolean) {
    return {
      effects: (effects: Effect[]) => {
        if (current()) for (const effect of effects) this.#output.effect(effect);
      },
      stdout: (line: string) => current() && this.#output.stdoutLine(line),
      stderr: (line: string) => current() && this.#guestLog(this.#kind === 'command' ? 'info' : 'warn', line),
      called: (fn: ExportName, ok: boolean, stats: CallStats) => {
        this.#busy.add(stats.durationMs, this.#ctx.now());
        this.#meter.called(fn, ok, stats);
      },
      requestFailed: (error: string) => current() && this.#warnInStatus(`an http request failed, answered 500: ${error}`),
      ended: (fatal: Fatal | undefined) => {
        if (!current() || !fatal) return;
        if (fatal.bystander) return this.#restartNow(fatal.message);
        if (fatal.reason === 'exit' && fatal.exitCode === 0) this.#exited(true, 'exit', 0, 'exited with code 0');
        else this.#failed(fatal.reason, fatal.message, fatal.exitCode ?? null, true);
      },
    };
  }

  /** Its instance ended through no doing of its own (another guest crashed the runner): start again now. */
  #restartNow(why: string): void {
    this.note(`restarting at once: ${why} while this workload was idle`);
    this.start();
  }

  #guestLog(level: LogLevel, text: string): void {
    this.logs.push(level, text);
    this.#log.log(level, `guest: ${text}`);
  }

  #exited(clean: boolean, reason: FailureReason, code: number | null, text: string): void {
    this.#instance = undefined;
    this.#upright = false;
    this.#output.instanceEnded();
    clearInterval(this.#tickTimer);
    this.#lastExit = { reason, code };
    this.logs.push(clean ? 'info' : 'error', text);
    this.#log.log(clean ? 'info' : 'error', text);
    const decision = decideAfterExit(
      { policy: this.spec.restartPolicy, restarts: this.#restarts, clean, ranForMs: this.#startedAt ? this.#ctx.now() - this.#startedAt : 0 },
      this.#ctx.backoff,
    );
    this.#startedAt = 0;
    if (decision.action === 'stay') this.#setState(decision.status);
    else {
      this.#restarts = decision.restarts;
      this.#meter.restarting(reason);
      const now = this.#ctx.now();
      this.#nextRestartAt = now + decision.delayMs;
      this.#setState('backoff', now); // one clock reading: nextRestartAt - since is exactly the delay
      const generation = this.#generation;
      this.#restartTimer = setTimeout(() => generation === this.#generation && this.#launch(++this.#generation), decision.delayMs);
    }
    if (!clean) this.#ctx.failed(this, reason, text);
  }

  /** A failure: retryable ones follow the restart policy; permanent ones stay failed. */
  #failed(reason: FailureReason, message: string, code: number | null, retryable: boolean): void {
    void this.#stopInstance();
    this.#meter.failed(reason);
    this.#lastError = cut(`${reason}: ${message}`);
    this.#upright = false;
    if (retryable) return this.#exited(false, reason, code, this.#lastError);
    this.#lastExit = { reason, code };
    this.logs.push('error', this.#lastError);
    this.#log.error(this.#lastError);
    this.#setState('failed');
  }

  /**
   * Ends the running instance, if any. What belongs to it (its outboxes) is taken now, before the await,
   * and every launch waits for the last stop to finish: an instance never starts while the one before
   * it still runs, and a stop that ends late cannot touch its successor.
   */
  #stopInstance(): Promise<void> {
    clearInterval(this.#tickTimer);
    clearTimeout(this.#restartTimer);
    this.#nextRestartAt = null;
    const instance = this.#instance;
    this.#instance = undefined;
    const closeOutputs = this.#output.detach();
    const previous = this.#lastStop;
    this.#lastStop = (async () => {
      await previous;
      await instance?.stop();
      closeOutputs();
    })();
    return this.#lastStop;
  }

  #setState(state: WorkloadState, at = this.#ctx.now()): void {
    if (state !== this.#state) this.#since = at;
    this.#state = state;
    if (state === 'running') this.#upright = true;
    if (state === 'running' && this.#blobs.length) this.#ctx.healthy(this.name, this.#blobs);
    if (state === 'running' && this.#candidate) {
      this.#candidate.resolve();
      this.#candidate = undefined;
    }
    this.#ctx.statusChanged(this.name);
  }
}

/** The version that failed in place of this one, and why (reported as `rolledBackFrom`). */
export interface RolledBack {
  readonly digest: string | null;
  readonly reason: string;
  readonly at: string;
}

/** A graph's windows close on the clock: it ticks when it has an accumulate, every timerMs (default GRAPH_TICK_MS). */
function graphTickMs(plan: GraphPlan, timerMs: number | undefined): number | undefined {
  return plan.nodes.some((n) => n.type === 'accumulate') ? (timerMs ?? GRAPH_TICK_MS) : undefined;
}

function isFatalCode(err: unknown): FailureReason | undefined {
  if (isWasmhostError(err, 'WH_ERR_OOM')) return 'oom';
  if (isWasmhostError(err, 'WH_ERR_CALL_TIMEOUT')) return 'timeout';
  if (isWasmhostError(err, 'WH_ERR_TRAP')) return 'trap';
  if (isWasmhostError(err, 'WH_ERR_EXIT')) return 'exit';
  if (isWasmhostError(err, 'WH_ERR_CRASH')) return 'crash';
  return undefined;
}

/** Reported properties must stay small: long errors are cut. */
function cut(text: string): string {
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}...` : text;
}
