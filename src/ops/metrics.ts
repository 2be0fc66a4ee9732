import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallStats, ExportName, FailureReason, WorkloadMeter, WorkloadSample, WorkloadState } from '../base/index.js';
import { OperatorSeries } from './operator-metrics.js';

/** The labels edgeHub and edgeAgent put on every metric, so one dashboard reads all three modules. */
export interface HostLabels {
  readonly iothub: string;
  readonly edge_device: string;
  readonly instance_number: string;
}

/** A new one per start of the process, as edgeHub does; metrics and traces carry the same. */
const INSTANCE_NUMBER = randomUUID();

/** From the variables IoT Edge sets; local mode has no hub, and names the machine instead. */
export function hostLabels(env: NodeJS.ProcessEnv = process.env): HostLabels {
  return {
    iothub: env.IOTEDGE_IOTHUBHOSTNAME ?? 'local',
    edge_device: env.IOTEDGE_DEVICEID ?? hostname(),
    instance_number: INSTANCE_NUMBER,
  };
}

/** WIT names, as a guest's author knows the exports. */
const EXPORT_NAMES: Record<ExportName, string> = { init: 'init', onTimer: 'on-timer', onMessage: 'on-message', onMethod: 'on-method', run: 'run', handle: 'handle' };
const STATES: readonly WorkloadState[] = ['pulling', 'starting', 'running', 'backoff', 'failed', 'stopped'];
const STATUS_COUNTERS = [
  ['messages_sent_total', 'Telemetry messages delivered (acknowledged by edgeHub in IoT Edge mode)', (s: WorkloadSample) => s.messagesSent],
  ['messages_refused_total', 'telemetry.send and publish calls refused (invalid, over budget, backpressure)', (s: WorkloadSample) => s.messagesRefused],
  ['messages_dropped_total', 'Messages for the workload dropped because it was not running or its queue was full', (s: WorkloadSample) => s.messagesDropped],
  ['messages_expired_total', 'Durable telemetry dropped unsent after the outbox time to live', (s: WorkloadSample) => s.messagesExpired ?? 0],
] as const;

/**
 * Prometheus metrics (design.md "Operations conventions"): names prefixed `wasmhost_`, the host labels
 * on every series, `workload` on per-workload ones. Events (calls, failures, restarts) are counted as
 * they happen through meters bound once per workload; everything in the workload status is read from
 * the supervisor at scrape time, so the telemetry path pays nothing for metrics.
 */
export class HostMetrics {
  readonly registry = new Registry();
  readonly #callDuration: Histogram<'workload' | 'export'>;
  readonly #callErrors: Counter<'workload' | 'export'>;
  readonly #failures: Counter<'workload' | 'reason'>;
  readonly #restarts: Counter<'workload' | 'reason'>;
  readonly #graphNodes: Counter<'workload' | 'node' | 'outcome'>;
  readonly #operators: OperatorSeries;
  /** Each workload's event series (by label key), so a removed workload's series go with it. */
  readonly #eventSeries = new Map<string, Map<string, () => void>>();

  constructor(labels: HostLabels, samples: () => WorkloadSample[]) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ ...labels });
    collectDefaultMetrics({ register: this.registry, prefix: 'wasmhost_' });
    // Read at scrape: one supervisor snapshot serves every status metric.
    let snapshot: WorkloadSample[] = [];
    const gauge = (name: string, help: string, value: (s: WorkloadSample) => number) => new Gauge({
      name: `wasmhost_${name}`, help, labelNames: ['workload'], registers,
      collect() {
        this.reset();
        for (const s of snapshot) this.set({ workload: s.name }, value(s));
      },
    });
    const host = this;
    // Registered first: the registry collects in order, so this one takes the snapshot (and drops removed workloads' series) before the rest render.
    new Gauge({
      name: 'wasmhost_workloads', help: 'Workloads known to the host (desired, running or not)', registers,
      collect() {
        snapshot = samples();
        host.#forgetRemoved(new Set(snapshot.map((s) => s.name)));
        this.set(snapshot.length);
      },
    });
    this.#callDuration = new Histogram({
      name: 'wasmhost_workload_call_duration_seconds', help: 'Time in a guest export call (init, on-timer, on-message, on-method, run; handle for an http request), queueing excluded',
      labelNames: ['workload', 'export'], buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers,
    });
    this.#callErrors = new Counter({ name: 'wasmhost_workload_call_errors_total', help: 'Guest export calls that returned err or trapped', labelNames: ['workload', 'export'], registers });
    this.#failures = new Counter({ name: 'wasmhost_workload_failures_total', help: 'Workload instances that ended in failure, by reason', labelNames: ['workload', 'reason'], registers });
    this.#restarts = new Counter({ name: 'wasmhost_workload_restarts_total', help: 'Restarts scheduled by the restart policy, by the reason of the exit', labelNames: ['workload', 'reason'], registers });

    this.#graphNodes = new Counter({
      name: 'wasmhost_graph_node_messages_total', help: 'Messages at each node of a data flow graph, by outcome (in, out, dropped by a filter, true/false at a branch, error)',
      labelNames: ['workload', 'node', 'outcome'], registers,
    });
    this.#operators = new OperatorSeries(this.registry);

    for (const [name, help, value] of STATUS_COUNTERS) {
      new Counter({
        name: `wasmhost_${name}`, help, labelNames: ['workload'], registers,
        collect() {
          this.reset();
          for (const s of snapshot) this.inc({ workload: s.name }, value(s));
        },
      });
    }
    new Gauge({
      name: 'wasmhost_workload_state', help: 'Current state of each workload (1 for the state it is in)', labelNames: ['workload', 'state'], registers,
      collect() {
        this.reset();
        for (const s of snapshot) for (const state of STATES) this.set({ workload: s.name, state }, s.status === state ? 1 : 0);
      },
    });
    gauge('workload_memory_bytes', 'Linear memory of the running instance, as of its last call', (s) => s.memoryBytes);
    // edgeAgent's names for a module's use (used_memory_bytes, used_cpu_percent), per workload.
    gauge('workload_used_memory_bytes', "Memory the workload uses: its guest's linear memory and its worker's JS heap", (s) => s.usedMemoryBytes);
    gauge('workload_used_cpu_percent', 'Time inside guest calls over the last 10 s, as a percentage of one core', (s) => s.usedCpuPercent);
    gauge('workload_heap_bytes', "JS heap in use in the workload's worker thread (glue, host API, buffers), reported every 5 s", (s) => s.heapBytes);
    gauge('workload_heap_committed_bytes', "JS heap the workload's worker thread holds (in use, free and fragmented), reported every 5 s", (s) => s.heapCommittedBytes);
    gauge('outbox_unsent_bytes', 'Durable telemetry written and not yet acknowledged by edgeHub', (s) => s.outboxUnsentBytes);
  }

  /** The local broker's series: clients connected and bytes it keeps (read at scrape time), messages in and out and drops, by client. */
  brokerMeter(connected: () => number, stored: () => { readonly retained: number; readonly kept: number } | undefined): { message(client: string, direction: 'in' | 'out'): void; dropped(client: string, reason: string): void } {
    new Gauge({ name: 'wasmhost_broker_clients_connected', help: 'MQTT clients connected to the local broker', registers: [this.registry], collect() { this.set(connected()); } });
    new Gauge({
      name: 'wasmhost_broker_stored_bytes', help: 'Bytes the local broker keeps for clients: retained messages (retained), and messages queued or awaiting acknowledgement for a client (kept)', labelNames: ['kind'] as const, registers: [this.registry],
      collect() {
        const bytes = stored();
        this.set({ kind: 'retained' }, bytes?.retained ?? 0);
        this.set({ kind: 'kept' }, bytes?.kept ?? 0);
      },
    });
    const messages = new Counter({ name: 'wasmhost_broker_messages_total', help: 'Messages local-broker clients published (in) and were sent (out)', labelNames: ['client', 'direction'] as const, registers: [this.registry] });
    const dropped = new Counter({ name: 'wasmhost_broker_messages_dropped_total', help: 'Messages the local broker refused or dropped, by client and reason (refused, slow-subscriber, too-large; not-retained: delivered but not kept as retained; not-kept: not kept for a client that holds as many as the broker keeps for one)', labelNames: ['client', 'reason'] as const, registers: [this.registry] });
    return {
      message: (client, direction) => messages.inc({ client, direction }),
      dropped: (client, reason) => dropped.inc({ client, reason }),
    };
  }

  /** The runner process the workloads run in (read at scrape time): its resident memory and main heap, and how often it died. */
  runnerMeter(stats: () => { readonly rssBytes: number; readonly heapBytes: number; readonly crashes: number } | undefined): void {
    const registers = [this.registry];
    new Gauge({ name: 'wasmhost_runner_resident_memory_bytes', help: 'Resident memory of the runner process (every workload worker), reported every 5 s', registers, collect() { this.set(stats()?.rssBytes ?? 0); } });
    new Gauge({ name: 'wasmhost_runner_heap_bytes', help: "JS heap of the runner process's main thread (the relay between host and workers), committed, reported every 5 s", registers, collect() { this.set(stats()?.heapBytes ?? 0); } });
    let counted = 0;
    new Counter({
      name: 'wasmhost_runner_crashes_total', help: 'Times the runner process ended unasked (a V8 fatal error, a signal); its workloads were restarted', registers,
      collect() {
        const crashes = stats()?.crashes ?? 0;
        if (crashes > counted) this.inc(crashes - counted);
        counted = crashes;
      },
    });
  }

  /** Binds the event series of one workload; the supervisor calls this when it makes a workload. */
  meter(workload: string): WorkloadMeter {
    const calls = new Map<ExportName, { duration: { observe(v: number): void }; errors: { inc(): void } }>();
    const bind = (fn: ExportName) => {
      const labels = { workload, export: EXPORT_NAMES[fn] };
      const bound = { duration: this.#callDuration.labels(labels), errors: this.#callErrors.labels(labels) };
      this.#track(workload, `call ${fn}`, () => {
        this.#callDuration.remove(labels);
        this.#callErrors.remove(labels);
      });
      calls.set(fn, bound);
      return bound;
    };
    const byReason = (counter: Counter<'workload' | 'reason'>, kind: string) => (reason: FailureReason) => {
      counter.inc({ workload, reason });
      this.#track(workload, `${kind} ${reason}`, () => counter.remove({ workload, reason }));
    };
    return {
      called: (fn: ExportName, ok: boolean, stats: CallStats) => {
        const bound = calls.get(fn) ?? bind(fn);
        bound.duration.observe(stats.durationMs / 1000);
        if (!ok) bound.errors.inc();
      },
      failed: byReason(this.#failures, 'failure'),
      restarting: byReason(this.#restarts, 'restart'),
      graph: (measured) => {
        for (const [node, outcome, count] of measured.nodes) {
          this.#graphNodes.inc({ workload, node, outcome }, count);
          this.#track(workload, `node ${node} ${outcome}`, () => this.#graphNodes.remove({ workload, node, outcome }));
        }
        this.#operators.add(workload, measured);
        this.#track(workload, 'operators', () => this.#operators.forget(workload));
      },
    };
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #track(workload: string, key: string, remove: () => void): void {
    const series = this.#eventSeries.get(workload) ?? new Map<string, () => void>();
    series.set(key, remove);
    this.#eventSeries.set(workload, series);
  }

  #forgetRemoved(present: ReadonlySet<string>): void {
    for (const [workload, removers] of this.#eventSeries) {
      if (present.has(workload)) continue;
      for (const remove of removers.values()) remove();
      this.#eventSeries.delete(workload);
    }
  }
}
