// An http workload (wasi:http/incoming-handler, served on capabilities.listen.port) written with
// StarlingMonkey's fetch event: answers every request with what it got, and sends one telemetry
// message per request. `/spin` never returns and `/grow` takes memory until there is none (tests of
// limits.callTimeoutMs and limits.memoryMb for http workloads).
import { send } from 'edge:host/telemetry@0.1.0';

interface FetchEvent {
  request: Request;
  respondWith(response: Promise<Response> | Response): void;
}
declare function addEventListener(type: 'fetch', handler: (event: FetchEvent) => void): void;

const encoder = new TextEncoder();

addEventListener('fetch', (event) => event.respondWith(answer(event.request)));

async function answer(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === '/spin') for (;;);
  if (pathname === '/grow') for (const held: Uint8Array[] = []; ; ) held.push(new Uint8Array(1 << 20));
  const body = request.method === 'POST' ? await request.text() : '';
  const seen = { method: request.method, path: pathname, bytes: encoder.encode(body).length };
  send('requests', { body: encoder.encode(JSON.stringify(seen)), contentType: 'application/json', properties: [] });
  return new Response(JSON.stringify({ ...seen, body }), { headers: { 'content-type': 'application/json' } });
}
