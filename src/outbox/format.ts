import { isTextContentType, type GuestMessage } from '../base/index.js';

/**
 * One outbox record: a JSON line. `i` is the messageId sent with every try (duplicates can be removed
 * downstream). A text body (JSON, text/*) is kept as text in `s`, any other in base64 in `b`. The
 * workload version's digest is written once per outbox folder (DIGEST_FILE); records from before that
 * carry it in `d`.
 */
export interface OutboxRecord {
  i: string;
  d?: string;
  t: number;
  o: string;
  c: string | null;
  p: Array<[string, string]>;
  b?: string;
  s?: string;
}

export const DIGEST_FILE = 'digest';
export const SEGMENT_BYTES = 4 * 1024 * 1024;
/** Shared counters between a workload's worker (writer) and the main thread (reader). */
export const WRITTEN = 0;
export const ACKED = 1;
/** The unsent bytes this writer may reach now, set by the main thread from the workload's and the volume's caps. */
export const CAP = 2;
export const COUNTERS_BYTES = 3 * 8;

export function segmentName(startOffset: number): string {
  return `${String(startOffset).padStart(16, '0')}.seg`;
}

export function segmentStart(name: string): number {
  return Number(name.slice(0, 16));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeRecord(id: string, output: string, msg: GuestMessage, now: number): string {
  const base = { i: id, t: now, o: output, c: msg.contentType ?? null, p: msg.properties };
  const text = isTextContentType(msg.contentType) ? decodeText(msg.body) : undefined;
  return `${JSON.stringify(text === undefined ? { ...base, b: Buffer.from(msg.body).toString('base64') } : { ...base, s: text })}\n`;
}

/** The record's body: text as it was stored, anything else as bytes. */
export function recordBody(record: OutboxRecord): Uint8Array | string {
  return record.s ?? Buffer.from(record.b ?? '', 'base64');
}

function decodeText(body: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(body);
  } catch {
    return undefined; // labelled text but not UTF-8: kept as bytes, exactly
  }
}
