/**
 * Messages between the host and its runner process (over the IPC channel, structured clone). The
 * runner holds the workload workers; the host holds everything that must outlive a V8 fatal error.
 */
import type { HostToWorker, OutboxInit, WorkerInit, WorkerToHost } from '../protocol.js';

/** An outbox as a remote worker's init carries it: the counters are relayed, not shared. */
export interface RemoteOutbox extends Omit<OutboxInit, 'counters'> {
  readonly acked: number;
  readonly cap: number;
}

/** An init as it crosses to the runner: core modules are compiled there, not sent. */
export type RemoteInit = Omit<WorkerInit, 'outbox'> & { outbox: RemoteOutbox | undefined };

export type HostToRunner =
  | { type: 'spawn'; id: number }
  | { type: 'init'; id: number; init: RemoteInit }
  | { type: 'post'; id: number; message: Exclude<HostToWorker, { type: 'init' }> }
  | { type: 'terminate'; id: number }
  /** The outbox reader acknowledged up to `acked`; the writer may fill up to `cap` unsent bytes. */
  | { type: 'counters'; id: number; acked: number; cap: number };

export type RunnerToHost =
  | { type: 'message'; id: number; message: WorkerToHost }
  | { type: 'error'; id: number; message: string; code: string | undefined }
  | { type: 'exit'; id: number; code: number }
  /** The worker's outbox writer has written up to `written` (sent before any message that follows it). */
  | { type: 'written'; id: number; written: number }
  /** The runner process's resident memory and its main thread's JS heap (committed), every few seconds. */
  | { type: 'stats'; rssBytes: number; heapBytes: number };
