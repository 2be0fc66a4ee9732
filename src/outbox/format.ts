import { isUtf8 } from 'node:buffer';
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

/**
 * The record's JSON line, written out field by field (what JSON.stringify of an OutboxRecord gives, in
 * its key order, without building one: half the cost of a `send` to encode it that way). `id` is a UUID.
 */
export function encodeRecord(id: string, output: string, msg: GuestMessage, now: number): string {
  const body = bufferOf(msg.body);
  const text = isTextContentType(msg.contentType) && isUtf8(body) ? `"s":${JSON.stringify(body.toString('utf8'))}` : `"b":"${body.toString('base64')}"`;
  return `{"i":"${id}","t":${now},"o":${JSON.stringify(output)},"c":${JSON.stringify(msg.contentType ?? null)},"p":${JSON.stringify(msg.properties)},${text}}\n`;
}

/** A Buffer over the same bytes (no copy). */
const bufferOf = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** The record's body: text as it was stored, anything else as bytes. */
export function recordBody(record: OutboxRecord): Uint8Array | string {
  return record.s ?? Buffer.from(record.b ?? '', 'base64');
}
