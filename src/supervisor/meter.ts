import type { CallStats, ExportName, FailureReason } from '../runtime/index.js';
import type { WorkloadStatus } from './status.js';

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
}

export const NO_METER: WorkloadMeter = { called: () => undefined, failed: () => undefined, restarting: () => undefined };

/** A workload's status plus the gauges only metrics want (they change too often for the twin). */
export interface WorkloadSample extends WorkloadStatus {
  readonly memoryBytes: number;
  readonly outboxUnsentBytes: number;
}
