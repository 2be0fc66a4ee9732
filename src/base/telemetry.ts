import type { GuestMessage } from './workload-types.js';

/**
 * Where a workload's telemetry goes: edgeHub outputs in IoT Edge mode, stdout and files in local mode.
 * The adapters implement it; the supervisor and the outbox only see this interface.
 */
export interface TelemetrySink {
  send(message: OutboundMessage): void;
}

/** One telemetry record on its way out. */
export interface OutboundMessage {
  readonly workload: string;
  readonly digest: string;
  readonly output: string;
  /** A text body may arrive already decoded (the outbox keeps text bodies as text). */
  readonly msg: Omit<GuestMessage, 'body'> & { readonly body: Uint8Array | string };
}

/** Content types whose bodies are text: sent with contentEncoding utf-8, kept as text in the outbox. */
export function isTextContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^(application\/json|text\/)/.test(contentType);
}

export function bodyText(body: Uint8Array | string): string {
  return typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}
