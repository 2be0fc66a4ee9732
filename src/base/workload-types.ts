/**
 * The words every part of the host shares about a workload: its kind, why an instance ended, log
 * levels, the message a guest sends or receives, what a guest call measured, and the endpoint-name rule.
 * Nothing here imports anything, so every folder may depend on it.
 */

export type WorkloadKind = 'handler' | 'command' | 'http' | 'graph';

/** Why a workload instance ended. `crash`: the process running it died (a V8 fatal error, a signal). */
export type FailureReason = 'oom' | 'timeout' | 'trap' | 'exit' | 'budget' | 'init-failed' | 'crash';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface GuestMessage {
  body: Uint8Array;
  contentType: string | undefined;
  properties: Array<[string, string]>;
}

/** What metrics call a guest export: the handler's calls, a command's run, an http request. */
export type ExportName = 'init' | 'onTimer' | 'onMessage' | 'onMethod' | 'run' | 'handle';

/** Measured in the worker around each guest call, for metrics. */
export interface CallStats {
  /** Time inside the guest (and the host imports it called), without queueing. */
  durationMs: number;
  /** The guest's linear memories after the call. */
  memoryBytes: number;
}

/** edgeHub's largest message (256 KB): the most a workload may send in one. */
export const EDGEHUB_MAX_MESSAGE_BYTES = 256 * 1024;

/** edgeHub output and input names (routes use them as `/outputs/<name>`). Here, not in spec: a workload's worker checks it without loading the schema library. */
export const ENDPOINT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Whether a component import or export `name` is interface `iface` (`wasi:cli/run` or `wasi:cli/run@0.2.3`). */
export function isInterface(name: string, iface: string): boolean {
  return name === iface || name.startsWith(`${iface}@`);
}
