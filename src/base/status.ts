import type { CallStats, ExportName, FailureReason, WorkloadKind } from './workload-types.js';
import type { GraphMeasurements } from './graph.js';

/**
 * Lifecycle of a supervised workload (edgeAgent's vocabulary where it fits):
 * - pulling:  entered on start/restart; fetching and compiling the blob.     -> starting | backoff | failed
 * - starting: instantiating the guest and running `init`.                   -> running | backoff | failed
 * - running:  serving calls (handler) or running to its end (command).      -> backoff | failed | stopped
 * - backoff:  waiting to restart after a failure, per restartPolicy.        -> pulling
 * - failed:   will not restart by itself (policy, or an error a retry cannot fix); a desired change or restartWorkload leaves it.
 * - stopped:  disabled, stopped by a method, or a command that finished and is not restarted.
 */
export type WorkloadState = 'pulling' | 'starting' | 'running' | 'backoff' | 'failed' | 'stopped';

/** One workload as reported (twin reported properties, listWorkloads, the admin endpoint). */
export interface WorkloadStatus {
  readonly name: string;
  readonly status: WorkloadState;
  readonly digest: string | null;
  readonly kind: WorkloadKind | null;
  readonly since: string;
  readonly restarts: number;
  readonly lastError: string | null;
  readonly lastExitReason: FailureReason | null;
  readonly lastExitCode: number | null;
  readonly nextRestartAt: string | null;
  /** Set when this version came back by an automatic rollback: the version that failed, and why. */
  readonly rolledBackFrom: { readonly digest: string | null; readonly reason: string; readonly at: string } | null;
  readonly desiredVersion: number | null;
  readonly messagesSent: number;
  readonly messagesRefused: number;
  readonly messagesDropped: number;
  /** Durable telemetry dropped unsent after the outbox's time to live (IoT Edge mode). */
  readonly messagesExpired?: number;
}

/**
 * What a workload tells operations as it runs (metrics). One is bound per workload name when the
 * workload is made, so the hot path (a call returning) does no label lookups.
 */
export interface WorkloadMeter {
  called(fn: ExportName, ok: boolean, stats: CallStats): void;
  /** An instance failed (any reason, restarted or not). */
  failed(reason: FailureReason): void;
  /** A restart was scheduled after an exit for this reason. */
  restarting(reason: FailureReason): void;
  /** A graph workload's per-node counts and its operators' own metrics, since the last batch. */
  graph(measured: GraphMeasurements): void;
}

export const NO_METER: WorkloadMeter = { called: () => undefined, failed: () => undefined, restarting: () => undefined, graph: () => undefined };

/** A workload's status plus the gauges only metrics want (they change too often for the twin). */
/** What a workload uses now, as edgeAgent reports it for modules (listWorkloads, /metrics). */
export interface WorkloadUsage {
  /** Its guest's linear memory and its worker's JS heap. */
  readonly usedMemoryBytes: number;
  /** Time inside guest calls over the last ten seconds, as a percentage of one core. */
  readonly usedCpuPercent: number;
}

export interface WorkloadSample extends WorkloadStatus, WorkloadUsage {
  readonly memoryBytes: number;
  /** The worker's JS heap in use (glue, host API, buffers), besides the guest's linear memory. */
  readonly heapBytes: number;
  /** The worker's JS heap committed: in use, free and fragmented. */
  readonly heapCommittedBytes: number;
  readonly outboxUnsentBytes: number;
}
