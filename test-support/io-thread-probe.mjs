// Serves N GET requests the way a workload's worker does (the egress guard and lazy I/O thread first,
// then serveHttp) with a guest that never reads the request body, then prints how many Node
// IncomingMessage objects preview2-shim's I/O thread still holds, its heap limit and the heap it reported
// (before its first request and after the last), as JSON. Run as its own process:
// `node test-support/io-thread-probe.mjs <requests>`.
import '../dist/runtime/worker/shim-threads.js';
import { http } from '@bytecodealliance/preview2-shim';
import { ioThread, ioThreadHeap } from '../dist/runtime/worker/shim-threads.js';
import { serveHttp } from '../dist/runtime/worker/http-server.js';

const requests = Number(process.argv[2] ?? 400);
const { types } = http;

/** A guest that answers 204 without reading the request's body (as a fetch handler answering a GET). */
function answer(_request, out) {
  const response = new types.OutgoingResponse(types.Fields.fromList([]));
  response.setStatusCode(204);
  const body = response.body();
  types.ResponseOutparam.set(out, { tag: 'ok', val: response });
  body.write()[Symbol.dispose]();
  types.OutgoingBody.finish(body, undefined);
}

async function countInIoHeap(constructorName) {
  let text = '';
  for await (const chunk of await ioThread().getHeapSnapshot()) text += chunk;
  const heap = JSON.parse(text);
  const fields = heap.snapshot.meta.node_fields;
  const [typeAt, nameAt] = [fields.indexOf('type'), fields.indexOf('name')];
  const objectType = heap.snapshot.meta.node_types[0].indexOf('object');
  let count = 0;
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    if (heap.nodes[i + typeAt] === objectType && heap.strings[heap.nodes[i + nameAt]] === constructorName) count++;
  }
  return count;
}

const heapBefore = ioThreadHeap();
let served = 0;
const port = serveHttp(http, { handle: answer }, 0, '127.0.0.1', { begin() {}, end() { served++; } });
const statuses = new Set();
for (let i = 0; i < requests; i++) statuses.add((await fetch(`http://127.0.0.1:${port}/r${i}`)).status);
await new Promise((r) => setTimeout(r, 200)); // the last responses finish in the I/O thread
console.log(JSON.stringify({
  served,
  statuses: [...statuses],
  incomingMessages: await countInIoHeap('IncomingMessage'),
  heapLimitMb: ioThread().resourceLimits.maxOldGenerationSizeMb,
  heapBefore,
  heapAfter: ioThreadHeap(),
}));
process.exit(0);
