// An http component as a Spin or wasmCloud user writes it: only standard interfaces. It counts requests
// with wasi:keyvalue (atomics.increment on bucket "default"), reads its greeting with wasi:config (at
// Spin's pinned version) and logs each request with wasi:logging. Built by the repository's guest build.
import { open } from 'wasi:keyvalue/store@0.2.0-draft';
import { increment } from 'wasi:keyvalue/atomics@0.2.0-draft';
import { get } from 'wasi:config/store@0.2.0-draft-2024-09-27';
import { log } from 'wasi:logging/logging@0.1.0-draft';

interface FetchEvent {
  request: Request;
  respondWith(response: Promise<Response> | Response): void;
}
declare function addEventListener(type: 'fetch', handler: (event: FetchEvent) => void): void;

addEventListener('fetch', (event) => event.respondWith(answer(event.request)));

async function answer(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  const hits = increment(open('default'), 'hits', 1n);
  log('info', 'portable-http', `${request.method} ${pathname}: request ${hits}`);
  const body = { hits: Number(hits), greeting: get('greeting') ?? null };
  return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
}
