// A handler workload: init, then on-timer every timerMs, on-message for its inputs and topics,
// on-method for invokeWorkload. Types come from types/ (generated from wit/ by wasmhost new).
import type * as Handler from 'edge:host/handler@0.1.0';
import { send } from 'edge:host/telemetry@0.1.0';
import { get } from 'edge:host/config@0.1.0';
import { log } from 'edge:host/log@0.1.0';
import * as kv from 'edge:host/kv@0.1.0';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const json = (value: unknown) => ({ body: encoder.encode(JSON.stringify(value)), contentType: 'application/json', properties: [] });

function count(): number {
  const stored = kv.get('count');
  return stored ? Number(decoder.decode(stored)) : 0;
}

export const handler: typeof Handler = {
  init() {
    log('info', `{{name}} ready (site ${get('site') ?? 'unknown'})`);
  },
  onTimer() {
    const n = count() + 1;
    kv.set('count', encoder.encode(String(n)));
    send('ticks', json({ site: get('site') ?? 'unknown', tick: n }));
  },
  onMessage(source, msg) {
    send('echoed', { body: msg.body, contentType: msg.contentType, properties: [['source', source]] });
  },
  onMethod(name, payload) {
    if (name === 'count') return JSON.stringify({ count: count() });
    if (name === 'reset') {
      kv.set('count', encoder.encode('0'));
      return JSON.stringify({ count: 0, note: payload });
    }
    throw `unknown method ${name}`;
  },
};
