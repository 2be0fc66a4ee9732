import type { GuestMessage } from '../runtime/protocol.js';

/** One outbox record: a JSON line. `i` is the messageId sent with every try (duplicates can be removed downstream). */
export interface OutboxRecord {
  i: string;
  /** Digest of the workload version that sent it. */
  d: string;
  t: number;
  o: string;
  c: string | null;
  p: Array<[string, string]>;
  b: string;
}

export const SEGMENT_BYTES = 4 * 1024 * 1024;
/** Shared counters between a workload's worker (writer) and the main thread (reader). */
export const WRITTEN = 0;
export const ACKED = 1;

export function segmentName(startOffset: number): string {
  return `${String(startOffset).padStart(16, '0')}.seg`;
}

export function segmentStart(name: string): number {
  return Number(name.slice(0, 16));
}

export function encodeRecord(id: string, digest: string, output: string, msg: GuestMessage, now: number): string {
  const record: OutboxRecord = { i: id, d: digest, t: now, o: output, c: msg.contentType ?? null, p: msg.properties, b: Buffer.from(msg.body).toString('base64') };
  return `${JSON.stringify(record)}\n`;
}
