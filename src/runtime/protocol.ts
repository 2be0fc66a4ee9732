/**
 * Messages between the main thread and a workload's worker thread. Data only: the worker owns the guest
 * instance, the main thread owns everything else.
 */

import type { CallStats, FailureReason, GraphMeasurements, GraphPlan, GuestMessage, LogLevel, WorkloadKind } from '../base/index.js';
import type { CoreModules, ModuleSource } from './module-cache.js';
import type { ErrorCode } from '../errors.js';

export type { CallStats, ExportName, FailureReason, GraphNodePlan, GraphPlan, GuestMessage, LogLevel, NodeOutcome, OperatorType, WorkloadKind } from '../base/index.js';

export type HandlerCall =
  | { fn: 'init' }
  | { fn: 'onTimer' }
  | { fn: 'onMessage'; source: string; msg: GuestMessage }
  | { fn: 'onMethod'; name: string; payload: string }
  | { fn: 'run' };

/** One component a worker instantiates: the workload's own, or a graph's operator module. */
export interface GuestComponent {
  /** Its generated code (a script: generated-script.ts). */
  readonly componentFile: string;
  /** Where the component's core modules are; the process that runs the worker compiles them (ModuleCache). */
  readonly moduleSource: ModuleSource;
  /** Those modules by the file name the generated code asks for, compiled and memory-capped: filled in by the worker's process before the init reaches it. */
  readonly modules?: CoreModules;
  /** The interfaces the component imports (unversioned names, from its compile): each must be served. */
  readonly imports: string[];
}


/** Everything a worker needs to build the sandbox; sent as its first message. */
export interface WorkerInit {
  workload: string;
  /** The guest (one component), or a graph's operator modules (`graph.nodes` name them by index). */
  components: GuestComponent[];
  kind: WorkloadKind;
  /** A graph workload's nodes and how they connect (kind `graph`). */
  graph: GraphPlan | undefined;
  memoryLimitBytes: number;
  config: Array<[string, string]>;
  env: Record<string, string>;
  args: string[];
  preopens: Record<string, string>;
  allowedHosts: string[];
  /** http workloads: whether an instance serves the next request too (see CompiledMeta.instancePerRequest). */
  reuseHttpInstance: boolean;
  /** http workloads: where the worker serves wasi:http/incoming-handler (capabilities.listen.port). */
  listen: { port: number; host: string } | undefined;
  /** Bytes the guest may keep under its `/data` preopen (capabilities.storage.quotaMb); none without storage. */
  storageQuotaBytes: number | undefined;
  kvDir: string | undefined;
  /** Durable telemetry: `send` appends here before returning ok. Absent: telemetry goes out as effects. */
  outbox: OutboxInit | undefined;
  digest: string;
  /** The host reads the guest's stdout/stderr (as lines, posted as they are written); false: they go straight to ours (`wasmhost run`). */
  captureStdio: boolean;
  messagesPerSecond: number;
  maxMessageBytes: number;
}

export interface OutboxInit {
  dir: string;
  /** WRITTEN / ACKED / CAP (outbox/format.ts), shared with the reader; a runner process relays them. */
  counters: SharedArrayBuffer;
  capBytes: number;
  fsync: 'always' | 'interval' | 'never';
}

/** Side effects a guest made during a call, posted in one batch (one postMessage per call, not per send). */
export type Effect =
  | { type: 'telemetry'; output: string; msg: GuestMessage }
  | { type: 'publish'; topic: string; msg: GuestMessage }
  | { type: 'log'; level: LogLevel; message: string }
  /** Telemetry was appended to the outbox: the main thread reads it from there. */
  | { type: 'outbox'; count: number }
  /** What a graph counted per node and its operators measured, since the last batch (kind `graph`). */
  | ({ type: 'graph-metrics' } & GraphMeasurements)
  | { type: 'refused'; what: 'telemetry' | 'publish' | 'log' | 'http' | 'storage'; reason: FailureReason | 'invalid' | 'denied' | 'backpressure' | 'quota' | 'io'; detail: string; count: number };


/**
 * Why an instance ended. `bystander`: its process (the runner) died while this instance was idle, so
 * something else caused it; it is started again at once rather than backed off.
 */
export type Fatal = { reason: FailureReason; message: string; exitCode?: number; bystander?: boolean };

/** A worker's JS heap (jco glue, host API, buffers; not the guest's linear memory) with its I/O thread's, as it reports it every few seconds. */
export interface HeapReport {
  readonly usedBytes: number;
  /** What it holds of the process's memory: in use, free and fragmented. */
  readonly committedBytes: number;
}

export const NO_HEAP: HeapReport = { usedBytes: 0, committedBytes: 0 };

export type WorkerToHost =
  /** The guest is instantiated; an http workload's server listens on `httpPort` (loopback). */
  | { type: 'ready'; effects: Effect[]; httpPort?: number }
  | { type: 'effects'; effects: Effect[] }
  /** Lines the guest wrote, posted as it writes them (a command's run never lets the worker's own streams move). */
  | { type: 'stdio'; stream: 'stdout' | 'stderr'; lines: string[] }
  | ({ type: 'result'; id: number; ok: true; value: string | undefined; effects: Effect[] } & CallStats)
  | ({ type: 'result'; id: number; ok: false; error: string; fatal: Fatal | undefined; effects: Effect[] } & CallStats)
  /** `code`: a coded host error (a module over the memory limit, say) rather than the guest's failure. */
  | { type: 'startup-failed'; error: string; code?: ErrorCode }
  | ({ type: 'heap' } & HeapReport)
  /** An http request reached the guest: its handle call has started (the main thread arms the call deadline). */
  | { type: 'request' }
  /** The http request's handle call returned, or failed (`error`: the request was answered 500; the next gets a fresh instance). */
  | ({ type: 'responded'; ok: boolean; error: string | undefined; effects: Effect[] } & CallStats);

export type HostToWorker = { type: 'init'; init: WorkerInit } | { type: 'call'; id: number; call: HandlerCall } | { type: 'close' };
