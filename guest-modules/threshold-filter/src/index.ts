// Forwards readings whose machine temperature is above config `threshold` to output `alerts` and to
// local topic `alerts/<machine>`; counts what it forwarded in kv so the count survives restarts.
import type * as Handler from 'edge:host/handler@0.1.0';
import { send } from 'edge:host/telemetry@0.1.0';
import { publish } from 'edge:host/pubsub@0.1.0';
import { get as configGet } from 'edge:host/config@0.1.0';
import { get as kvGet, set as kvSet } from 'edge:host/kv@0.1.0';
import { log } from 'edge:host/log@0.1.0';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function forwarded(): number {
  const stored = kvGet('forwarded');
  return stored ? Number(decoder.decode(stored)) : 0;
}

export const handler: typeof Handler = {
  init() {
    log('info', `filter ready: threshold ${configGet('threshold') ?? '25'}, ${forwarded()} forwarded so far`);
  },
  onTimer() {},
  onMessage(source, msg) {
    const threshold = Number(configGet('threshold') ?? '25');
    let reading: { machine?: { name?: string; temperature?: number } };
    try {
      reading = JSON.parse(decoder.decode(msg.body));
    } catch {
      throw `message from ${source} is not JSON`;
    }
    const temperature = reading.machine?.temperature;
    if (typeof temperature !== 'number' || temperature <= threshold) return;
    const alert = encoder.encode(JSON.stringify({ ...reading, alert: 'temperature above threshold', threshold, source }));
    const out = { body: alert, contentType: 'application/json', properties: [['alertType', 'temperature']] as Array<[string, string]> };
    send('alerts', out);
    publish(`alerts/${reading.machine?.name ?? 'unknown'}`, out);
    kvSet('forwarded', encoder.encode(String(forwarded() + 1)));
  },
  onMethod(name) {
    if (name === 'stats') return JSON.stringify({ forwarded: forwarded() });
    throw `unknown method ${name}`;
  },
};
