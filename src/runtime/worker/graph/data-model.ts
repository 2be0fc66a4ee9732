import type { GuestMessage } from '../../protocol.js';
import type { Hlc } from './hlc.js';

/** wasm-graph:processor's types as jco hands them over (variants as { tag, val }). */
export type BufferOrBytes = { tag: 'buffer'; val: { read(): Uint8Array } } | { tag: 'bytes'; val: Uint8Array };
export type BufferOrString = { tag: 'buffer'; val: { read(): Uint8Array } } | { tag: 'string'; val: string };
export interface WireTimestamp { timestamp: Hlc['timestamp']; counter: bigint; nodeId: BufferOrString }
export interface Message {
  timestamp: WireTimestamp;
  topic: BufferOrBytes;
  contentType?: BufferOrString;
  payload: BufferOrBytes;
  properties: { userProperties: Array<[BufferOrString, BufferOrString]> };
  schema?: unknown;
}
export type DataModel = { tag: 'buffer-or-bytes'; val: BufferOrBytes } | { tag: 'message'; val: Message } | { tag: 'snapshot'; val: { timestamp: WireTimestamp; frame: BufferOrBytes } };

const text = (value: BufferOrString): string => (value.tag === 'string' ? value.val : Buffer.from(value.val.read()).toString('utf8'));
const bytes = (value: BufferOrBytes): Uint8Array => (value.tag === 'bytes' ? value.val : value.val.read());

/** The data-model `timestamp` record: an HLC whose node id is a buffer-or-string. */
export function wireTimestamp(hlc: Hlc): WireTimestamp {
  return { timestamp: hlc.timestamp, counter: hlc.counter, nodeId: { tag: 'string', val: hlc.nodeId } };
}

/** A message arriving at the graph's source: topic (the input name or MQTT topic), payload, content type, properties, timestamp. */
export function toDataModel(topic: string, msg: GuestMessage, at: Hlc): DataModel {
  return {
    tag: 'message',
    val: {
      timestamp: wireTimestamp(at),
      topic: { tag: 'bytes', val: Buffer.from(topic) },
      contentType: msg.contentType === undefined ? undefined : { tag: 'string', val: msg.contentType },
      payload: { tag: 'bytes', val: msg.body },
      properties: { userProperties: msg.properties.map(([k, v]) => [{ tag: 'string', val: k }, { tag: 'string', val: v }]) },
      schema: undefined,
    },
  };
}

/** The staged value an accumulate starts a window from: an empty message at the window's timestamp. */
export function emptyMessage(at: Hlc): DataModel {
  return { tag: 'message', val: { timestamp: wireTimestamp(at), topic: { tag: 'bytes', val: new Uint8Array() }, payload: { tag: 'bytes', val: new Uint8Array() }, properties: { userProperties: [] } } };
}

/**
 * What a sink sends as telemetry: a message's payload, content type and user properties (plus its topic
 * as property `topic` unless it has one), or bare bytes. A snapshot has no telemetry shape: refused.
 */
export function toGuestMessage(dm: DataModel): GuestMessage {
  if (dm.tag === 'buffer-or-bytes') return { body: bytes(dm.val), contentType: undefined, properties: [] };
  if (dm.tag !== 'message') throw new TypeError(`a sink sends messages or bytes, not a ${String((dm as { tag: unknown }).tag)}`);
  const m = dm.val;
  const properties = m.properties.userProperties.map(([k, v]): [string, string] => [text(k), text(v)]);
  const topic = Buffer.from(bytes(m.topic)).toString('utf8');
  if (topic && !properties.some(([k]) => k === 'topic')) properties.push(['topic', topic]);
  return { body: bytes(m.payload), contentType: m.contentType && text(m.contentType), properties };
}
