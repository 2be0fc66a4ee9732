import type { GuestMessage } from '../runtime/index.js';

/** Where a workload's telemetry goes: edgeHub outputs in IoT Edge mode, stdout and files in local mode. */
export interface TelemetrySink {
  send(message: OutboundMessage): void;
}

export interface OutboundMessage {
  readonly workload: string;
  readonly digest: string;
  readonly output: string;
  readonly msg: GuestMessage;
}
