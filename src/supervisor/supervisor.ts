import { errorText, isWasmhostError, WasmhostError } from '../errors.js';
import type { Fetcher } from '../fetch/index.js';
import type { Outbox } from '../outbox/index.js';
import type { Logger, LogRecord } from '../ops/index.js';
import { NO_HEAP, RECENT_USE_MS, type Engine, type GuestMessage } from '../runtime/index.js';
import { canonicalJson, diffSpecs, formatProblem, pinnedDigests, type ValidatedDesired, type WorkloadSpec } from '../spec/index.js';
import { KeyedLock } from './keyed-lock.js';
import { rollbackDue, type Probation } from './probation.js';
import { describe, plan, type Command } from './plan.js';
import { DEFAULT_BACKOFF, type BackoffSettings } from './restart-policy.js';
import { backoffDelay, NO_METER, topicMatches, type TelemetrySink, type WorkloadMeter, type WorkloadSample, type WorkloadStatus, type WorkloadUsage } from '../base/index.js';
import { Workload, type WorkloadContext } from './workload.js';

/** How long an update waits for the running version's calls in flight before stopping it anyway. */
const HOLD_GRACE_MS = 2000;

export interface SupervisorOptions {
  readonly engine: Engine;
  readonly fetcher: Fetcher;
  readonly dataDir: string;
  readonly sink: TelemetrySink;
  /** Durable telemetry; without it, telemetry goes straight to `sink` (local mode). */
  readonly outbox?: Outbox;
  readonly log: Logger;
  readonly backoff?: BackoffSettings;
  /** Called whenever a workload's status changes or a workload goes away; adapters batch from here. */
  readonly onStatusChange?: () => void;
  readonly now?: () => number;
  /** After an update, failing within this window rolls back to the previous version. Default 60 s. */
  readonly probationMs?: number;
  /** The interface http workloads listen on: every one in IoT Edge mode (the module network), 127.0.0.1 by default. */
  readonly listenHost?: string;
  /** Something published on a local topic by a workload or the admin endpoint (the local broker sends it to its clients). */
  readonly onTopicPublish?: (topic: string, msg: GuestMessage) => void;
  /** Binds a metrics meter to a workload name; none by default. */
  readonly meter?: (workload: string) => WorkloadMeter;
}

export interface ApplyResult {
  readonly commands: readonly string[];
  readonly errors: readonly string[];
}

/**
 * Who decides: owns the set of workloads and makes it match the desired document (desired -> diff ->
 * plan -> commands), routes local topics between workloads and edgeHub inputs to them, and answers the
 * operator's methods. Adapters (IoT Edge, local mode) feed it validated documents through the
 * DesiredState owner and render its status.
 *
 * Plans are made against the target: the spec last planned for each name, not what happens to run
 * now, so a new document is planned at once even while earlier commands are still under way. Commands
 * run one at a time per workload name (a KeyedLock) and in parallel across names: a slow pull of one
 * workload never delays another. A pull for an update happens outside the lock; only the switch holds it.
 */
export class Supervisor {
  readonly #workloads = new Map<string, Workload>();
  /** The spec each name is headed for: what the last plan asked, whether or not it runs yet. */
  readonly #target = new Map<string, WorkloadSpec>();
  /** Spec errors by workload name, reported until a valid spec for that name arrives. */
  #specErrors = new Map<string, string>();
  readonly #ctx: WorkloadContext;
  readonly #log: Logger;
  readonly #onStatusChange: () => void;
  readonly #fetcher: Fetcher;
  readonly #lock = new KeyedLock();
  /** Update candidates still starting, by name: a newer command for that name stops them. */
  readonly #candidates = new Map<string, Workload>();
  /** The blobs of each workload's last version that reached running: kept in the caches for a way back. */
  readonly #lastGood = new Map<string, readonly string[]>();
  /** Collections of the caches, one after another. */
  #collecting: Promise<void> = Promise.resolve();
  /** Updates on probation: the version each replaced, and until when a failure means going back. */
  readonly #probation = new Map<string, Probation<Workload>>();
  /** Desired specs refused (failed to start, or rolled back), by name: not tried again until they change. */
  readonly #refused = new Map<string, string>();
  /** Updates whose blob could not be pulled (the source unreachable), by name: tried again with backoff. */
  readonly #pullRetries = new Map<string, { readonly key: string; readonly tries: number; readonly timer: NodeJS.Timeout }>();
  readonly #probationMs: number;
  readonly #now: () => number;
  readonly #onTopicPublish: ((topic: string, msg: GuestMessage) => void) | undefined;

  constructor(options: SupervisorOptions) {
    this.#log = options.log;
    this.#onStatusChange = options.onStatusChange ?? (() => undefined);
    this.#fetcher = options.fetcher;
    this.#probationMs = options.probationMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#onTopicPublish = options.onTopicPublish;
    this.#ctx = {
      engine: options.engine,
      fetcher: options.fetcher,
      dataDir: options.dataDir,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      log: options.log,
      sink: options.sink,
      outbox: options.outbox,
      listenHost: options.listenHost ?? '127.0.0.1',
      publish: (from, topic, msg) => this.publish(topic, msg, from),
      statusChanged: () => this.#onStatusChange(),
      healthy: (name, blobs) => this.#healthy(name, blobs),
      failed: (workload, reason, message) => this.#onFailure(workload, reason, message),
      meter: options.meter ?? (() => NO_METER),
      now: options.now ?? Date.now,
    };
  }

  /**
   * Reconciles toward a validated desired document. Planning is synchronous, so documents are planned
   * in the order they arrive; the promise settles once this document's commands have run.
   */
  async apply(desired: ValidatedDesired, desiredVersion: number | null = null): Promise<ApplyResult> {
    const errors = desired.errors.map(formatProblem);
    if (desired.documentInvalid) {
      this.#log.error(`desired document rejected, nothing changed: ${errors.join('; ')}`);
      return { commands: [], errors };
    }
    for (const w of desired.warnings) this.#log.warn(`desired: ${formatProblem(w)}`);
    this.#specErrors = new Map();
    for (const problem of desired.errors) {
      if (!problem.workload) continue;
      const prior = this.#specErrors.get(problem.workload);
      this.#specErrors.set(problem.workload, prior ? `${prior}; ${formatProblem(problem)}` : formatProblem(problem));
      this.#log.forWorkload(problem.workload).error(`invalid spec, keeping what runs: ${formatProblem(problem)}`);
    }
    const commands = plan(diffSpecs(desired.workloads, this.#target), desired.workloads, new Set(this.#specErrors.keys()));
    for (const command of commands) {
      if (command.kind === 'remove') this.#target.delete(command.name);
      else this.#target.set(command.name, command.spec);
    }
    await Promise.all(commands.map((command) => {
      this.#log.info(`reconcile: ${describe(command)}`);
      return this.#run(command, desiredVersion).catch((err: unknown) => void errors.push(`${command.name}: ${errorText(err)}`));
    }));
    this.#onStatusChange();
    await this.#collectGarbage();
    return { commands: commands.map(describe), errors };
  }

  /** A version that differs from the last good one (an unpinned source that changed) leaves garbage. */
  #healthy(name: string, blobs: readonly string[]): void {
    const before = this.#lastGood.get(name);
    this.#lastGood.set(name, blobs);
    if (before && before.join() !== blobs.join()) void this.#collectGarbage();
  }

  /** Drops cached blobs, and their compiled output, that neither a target spec pins nor any workload last ran well with. */
  #collectGarbage(): Promise<void> {
    this.#collecting = this.#collecting.then(() => this.#collectOnce());
    return this.#collecting;
  }

  async #collectOnce(): Promise<void> {
    for (const name of this.#lastGood.keys()) if (!this.#workloads.has(name)) this.#lastGood.delete(name);
    for (const name of [...this.#refused.keys(), ...this.#probation.keys(), ...this.#pullRetries.keys()]) {
      if (!this.#target.has(name)) {
        this.#refused.delete(name);
        this.#probation.delete(name);
        this.#cancelPullRetry(name);
      }
    }
    const keep = new Set<string>([...this.#lastGood.values()].flat());
    for (const spec of this.#target.values()) for (const pin of pinnedDigests(spec)) keep.add(pin);
    for (const w of [...this.#workloads.values(), ...this.#candidates.values()]) for (const blob of w.blobs) keep.add(blob);
    const blobs = await this.#fetcher.collectGarbage(keep).catch(() => []);
    if (blobs.length) this.#log.info(`cache: removed ${blobs.length} blob(s) no workload uses`);
    const compiled = await this.#ctx.engine.collectCompiled({ keep, unusedForMs: RECENT_USE_MS }).catch(() => []);
    if (compiled.length) this.#log.info(`cache: removed the compiled output of ${compiled.length} component(s) no workload uses`);
  }

  /** One command. A newer command for a name supersedes an update of it that is still starting. */
  #run(command: Command, desiredVersion: number | null): Promise<void> {
    clearTimeout(this.#pullRetries.get(command.name)?.timer); // this command is the newer word
    const candidate = this.#candidates.get(command.name);
    if (candidate) void candidate.stop();
    const existing = this.#workloads.get(command.name);
    // A version in service (running, or restarting by request) is updated without downtime, never just replaced.
    if (command.kind === 'replace' && existing?.inService && canonicalJson(existing.spec) === canonicalJson(command.spec)) {
      this.#refused.delete(command.name); // back to the version that runs (after a refused update): nothing to do
      return Promise.resolve();
    }
    if (command.kind === 'replace' && command.spec.enabled && existing?.inService) return this.#update(existing, command.spec, desiredVersion);
    return this.#lock.run(command.name, () => this.#execute(command, desiredVersion));
  }

  async #execute(command: Command, desiredVersion: number | null): Promise<void> {
    const existing = this.#workloads.get(command.name);
    if (command.kind === 'remove') {
      this.#workloads.delete(command.name);
      this.#probation.delete(command.name);
      return existing?.stop();
    }
    this.#refused.delete(command.name);
    this.#cancelPullRetry(command.name);
    const workload = new Workload(command.spec, this.#ctx, desiredVersion);
    await existing?.stop();
    this.#workloads.set(command.name, workload);
    if (command.spec.enabled) workload.start();
    else this.#onStatusChange();
  }

  /**
   * Zero-downtime update: the new version is fetched, compiled, started and its `init` has passed
   * before the old one stops. If it cannot get there, the old one keeps running. After the switch it is
   * on probation: a failure within the window goes back to the previous version by itself. The pull
   * runs outside the name's lock; the lock is taken from the hold to the switch.
   */
  async #update(existing: Workload, spec: WorkloadSpec, desiredVersion: number | null): Promise<void> {
    const { name } = spec;
    const key = canonicalJson(spec);
    if (this.#refused.get(name) === key) return; // the same update failed before: wait for a new one
    const next = new Workload(spec, this.#ctx, desiredVersion);
    this.#candidates.set(name, next);
    let unlock: (() => void) | undefined;
    let settled = false;
    let heldAt = 0;
    try {
      // The running version pauses only while the new one instantiates and runs init, so the two
      // never write the workload's kv and /data at once; what arrives meanwhile waits, then goes on.
      await next.startCandidate(async () => {
        const release = await this.#lock.acquire(name);
        if (settled) return release(); // superseded while waiting: the catch below has run
        unlock = release;
        if (this.#workloads.get(name) !== existing) throw new WasmhostError('WH_ERR_SUPERSEDED', `${name} changed while its update was pulled`);
        heldAt = this.#now();
        await existing.hold(HOLD_GRACE_MS);
      });
    } catch (err) {
      await next.stop();
      existing.release();
      if (isWasmhostError(err, 'WH_ERR_SUPERSEDED')) return;
      // Refused before it compiled (its pull failed, its bytes did not match): the pin is the version asked for.
      const digest = next.digest ?? (spec.graph ? null : spec.sha256 ?? null);
      const failed = { digest: digest && `sha256:${digest}`, reason: errorText(err), at: new Date(this.#now()).toISOString() };
      if (isWasmhostError(err, 'WH_ERR_FETCH_FAILED')) return existing.updateRefused(failed, this.#retryPull({ kind: 'replace', name, spec }, key, desiredVersion));
      this.#cancelPullRetry(name);
      this.#refused.set(name, key);
      return existing.updateRefused(failed);
    } finally {
      settled = true;
      if (this.#candidates.get(name) === next) this.#candidates.delete(name);
      unlock?.();
    }
    this.#refused.delete(name);
    this.#cancelPullRetry(name);
    this.#workloads.set(name, next);
    existing.release(next);
    next.note(`update: the previous version held its calls for ${this.#now() - heldAt} ms while this one started`);
    this.#probation.set(name, { previous: existing, until: this.#now() + this.#probationMs });
    await existing.stop();
    this.#onStatusChange();
  }

  /**
   * An update whose blob could not be pulled is tried again later, as a fresh workload's pull is: a
   * registry or network out for a while must not leave the device on the old version for good. The
   * wait doubles with each try of the same spec (the restart backoff); returns it.
   */
  #retryPull(command: Command & { kind: 'replace' }, key: string, desiredVersion: number | null): number {
    const prior = this.#pullRetries.get(command.name);
    const tries = prior?.key === key ? prior.tries + 1 : 0;
    const delayMs = backoffDelay(tries, this.#ctx.backoff);
    const again = () => {
      const target = this.#target.get(command.name);
      if (!target || canonicalJson(target) !== key) return; // a newer spec (or none) is planned now
      this.#run(command, desiredVersion).catch((err: unknown) => this.#log.forWorkload(command.name).error(`update retry failed: ${errorText(err)}`));
    };
    const timer = setTimeout(again, delayMs);
    this.#pullRetries.set(command.name, { key, tries, timer: timer.unref() });
    return delayMs;
  }

  #cancelPullRetry(name: string): void {
    clearTimeout(this.#pullRetries.get(name)?.timer);
    this.#pullRetries.delete(name);
  }

  /** A workload's instance failed: within its probation window, go back to the version it replaced. */
  #onFailure(workload: Workload, reason: string, message: string): void {
    const { name } = workload;
    const probation = this.#probation.get(name);
    if (this.#workloads.get(name) !== workload || !rollbackDue(probation, this.#now())) return;
    this.#probation.delete(name);
    this.#refused.set(name, canonicalJson(workload.spec));
    const { previous } = probation;
    const back = new Workload(previous.spec, this.#ctx, previous.desiredVersion, { digest: workload.digest && `sha256:${workload.digest}`, reason: `${reason}: ${message}`, at: new Date(this.#now()).toISOString() });
    this.#log.forWorkload(name).warn(`rolling back to ${previous.digest?.slice(0, 12) ?? 'the previous version'}: the update failed within its probation window (${reason})`);
    this.#workloads.set(name, back);
    void this.#lock.run(name, async () => {
      await workload.stop(); // its worker gone first: one version at a time on the kv
      if (this.#workloads.get(name) === back) back.start();
    });
  }

  /** Statuses of every workload, plus workloads known only by their spec error. */
  list(): WorkloadStatus[] {
    const outbox = this.#ctx.outbox;
    const out = [...this.#workloads.values()].map((w) => {
      const specError = this.#specErrors.get(w.name);
      const own = w.status();
      // Durable telemetry counts as sent once the broker acknowledged it.
      const status = outbox ? { ...own, messagesSent: own.messagesSent + outbox.delivered(w.name), messagesExpired: outbox.expired(w.name) } : own;
      return specError ? { ...status, lastError: `invalid spec: ${specError}` } : status;
    });
    for (const [name, error] of this.#specErrors) {
      if (!this.#workloads.has(name)) out.push(specErrorStatus(name, error));
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** list() with the gauges metrics read at each scrape. */
  samples(): WorkloadSample[] {
    return this.listWithUsage().map((status) => {
      const workload = this.#workloads.get(status.name);
      const heap = workload?.heap ?? NO_HEAP;
      return { ...status, memoryBytes: workload?.memoryBytes ?? 0, heapBytes: heap.usedBytes, heapCommittedBytes: heap.committedBytes, outboxUnsentBytes: this.#ctx.outbox?.unsentBytes(status.name) ?? 0 };
    });
  }

  /** Each workload's status with what it uses now (listWorkloads; reported properties leave usage out). */
  listWithUsage(): Array<WorkloadStatus & WorkloadUsage> {
    return this.list().map((status) => {
      const workload = this.#workloads.get(status.name);
      return { ...status, usedMemoryBytes: (workload?.memoryBytes ?? 0) + (workload?.heap.usedBytes ?? 0), usedCpuPercent: Math.round((workload?.usedCpuPercent ?? 0) * 10) / 10 };
    });
  }

  /** Operator methods take the name's lock like any command: never half-way through an update. */
  restart(name: string): Promise<void> {
    return this.#lock.run(name, () => this.#get(name).start());
  }

  /** Overrides last until the next desired change for that workload (a new spec makes a new Workload). */
  stop(name: string): Promise<void> {
    return this.#lock.run(name, () => this.#get(name).stop());
  }

  start(name: string): Promise<void> {
    return this.#lock.run(name, () => {
      const workload = this.#get(name);
      if (workload.state === 'stopped' || workload.state === 'failed') workload.start();
    });
  }

  async invoke(name: string, method: string, payload: string): Promise<string | undefined> {
    return this.#get(name).invoke(method, payload);
  }

  logs(name: string): LogRecord[] {
    return this.#get(name).logs.toArray();
  }

  names(): string[] {
    return [...this.#workloads.keys()];
  }

  /**
   * A message on a local topic from a workload (`from`) or the admin endpoint: delivered to every
   * workload whose `subscribe` matches, except the sender, and to the local broker's subscribers.
   */
  publish(topic: string, msg: GuestMessage, from?: string): void {
    this.deliverTopic(topic, msg, from);
    this.#onTopicPublish?.(topic, msg);
  }

  /** A message on a local topic to the subscribed workloads only (what a broker client published). */
  deliverTopic(topic: string, msg: GuestMessage, from?: string): void {
    for (const w of this.#workloads.values()) {
      if (w.name !== from && w.spec.subscribe.some((filter) => topicMatches(filter, topic))) w.deliver(`topic/${topic}`, msg);
    }
  }

  /** A message on an edgeHub input: delivered to every workload whose `inputs` lists it. */
  deliverInput(input: string, msg: GuestMessage): void {
    for (const w of this.#workloads.values()) if (w.spec.inputs.includes(input)) w.deliver(`input/${input}`, msg);
  }

  /** Stops every workload, letting calls in flight finish within `graceMs`. */
  async shutdown(graceMs = 3000): Promise<void> {
    for (const name of [...this.#pullRetries.keys()]) this.#cancelPullRetry(name);
    await Promise.all([...this.#candidates.values()].map((w) => w.stop()));
    await Promise.all([...this.#workloads.keys()].map((name) => this.#lock.run(name, () => this.#workloads.get(name)?.shutdown(graceMs))));
    await this.#ctx.engine.close();
  }

  #get(name: string): Workload {
    const workload = this.#workloads.get(name);
    if (!workload) throw new WasmhostError('WH_ERR_WORKLOAD_UNKNOWN', `no workload named ${JSON.stringify(name)}`);
    return workload;
  }
}

function specErrorStatus(name: string, error: string): WorkloadStatus {
  return {
    name, status: 'failed', digest: null, kind: null, since: new Date().toISOString(), restarts: 0,
    lastError: `invalid spec: ${error}`, lastExitReason: null, lastExitCode: null, nextRestartAt: null, rolledBackFrom: null,
    desiredVersion: null, messagesSent: 0, messagesRefused: 0, messagesDropped: 0,
  };
}
