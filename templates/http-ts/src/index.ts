// An http workload (wasi:http/incoming-handler, served on capabilities.listen.port), written with the
// fetch event. Each request gets a fresh instance: state between requests lives in kv.
import { send } from 'edge:host/telemetry@0.1.0';
import { get } from 'edge:host/config@0.1.0';
import * as kv from 'edge:host/kv@0.1.0';

interface FetchEvent {
  request: Request;
  respondWith(response: Promise<Response> | Response): void;
}
declare function addEventListener(type: 'fetch', handler: (event: FetchEvent) => void): void;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

addEventListener('fetch', (event) => event.respondWith(answer(event.request)));

async function answer(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  const stored = kv.get('hits');
  const hits = (stored ? Number(decoder.decode(stored)) : 0) + 1;
  kv.set('hits', encoder.encode(String(hits)));
  const seen = { method: request.method, path: pathname, hits };
  send('requests', { body: encoder.encode(JSON.stringify(seen)), contentType: 'application/json', properties: [] });
  return new Response(JSON.stringify({ ...seen, greeting: get('greeting') ?? 'hello' }), { headers: { 'content-type': 'application/json' } });
}
