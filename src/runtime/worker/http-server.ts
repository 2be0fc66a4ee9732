import type { HttpShim } from './shim.js';

type Handle = (request: unknown, responseOut: unknown) => void;
interface ShimServer {
  listen(port: number, host: string): void;
  address(): { port: number };
}
interface OutputStream {
  blockingWriteAndFlush(bytes: Uint8Array): void;
  [Symbol.dispose](): void;
}
interface OutgoingBody {
  write(): OutputStream;
}
interface IncomingRequest {
  consume(): { stream(): { [Symbol.dispose](): void } };
}
interface ShimTypes {
  IncomingRequest: { prototype: IncomingRequest };
  Fields: { fromList(entries: Array<[string, Uint8Array]>): unknown };
  OutgoingResponse: new (headers: unknown) => { setStatusCode(code: number): void; body(): OutgoingBody };
  OutgoingBody: { finish(body: OutgoingBody, trailers: undefined): void };
  ResponseOutparam: { set(param: unknown, response: { tag: 'ok'; val: unknown }): void };
}
interface ShimServerParts {
  HTTPServer: new (handler: { handle: Handle }) => ShimServer;
  types: ShimTypes;
}
const encoder = new TextEncoder();

/** Requests whose body the guest took (its stream is the guest's to drop, or the GC's). */
const consumed = new WeakSet<object>();
let parts: ShimServerParts | undefined;

/** The shim's server and types (Node-only: the package's types are its browser build's), its `consume` noted once. */
function serverParts(http: HttpShim): ShimServerParts {
  if (parts) return parts;
  parts = http as unknown as ShimServerParts;
  const { prototype } = parts.types.IncomingRequest;
  const consume = prototype.consume;
  prototype.consume = function (this: IncomingRequest) {
    consumed.add(this);
    return consume.call(this);
  };
  return parts;
}

/**
 * preview2-shim keeps each request's body stream (and Node's IncomingMessage) in its I/O thread until
 * the stream is dropped. A guest that never reads the body (any GET to a fetch-event handler) never
 * makes that stream, so nothing dropped it: ~2.7 KB a request stayed for good (soak, issue 12). Once the
 * guest is done with a request, an untaken body is taken and dropped here.
 */
function releaseBody(request: unknown): void {
  if (typeof request !== 'object' || request === null || consumed.has(request)) return;
  try {
    (request as IncomingRequest).consume().stream()[Symbol.dispose]();
  } catch {
    // not the shim's request, or its stream is gone already: nothing is held
  }
}

/** Answers a request the guest failed on, unless the guest had answered it already. */
function answerFailure(types: ShimTypes, responseOut: unknown): void {
  try {
    const response = new types.OutgoingResponse(types.Fields.fromList([['content-type', encoder.encode('text/plain')]]));
    response.setStatusCode(500);
    const body = response.body();
    types.ResponseOutparam.set(responseOut, { tag: 'ok', val: response });
    const stream = body.write();
    stream.blockingWriteAndFlush(encoder.encode('500: the workload failed on this request\n'));
    stream[Symbol.dispose]();
    types.OutgoingBody.finish(body, undefined);
  } catch {
    // the guest set a response before it failed: what it sent stands
  }
}

export interface RequestHooks {
  /** Before the guest sees a request (the host arms the call deadline). */
  begin(): void;
  /** After its handle call returned or threw. */
  end(error: unknown): void;
}

/**
 * Serves an http workload's `wasi:http/incoming-handler` on its declared port only (design.md:
 * `listen` only on its declared port). preview2-shim's server listens in this worker's own io thread
 * and hands each request to this thread, one at a time; `hooks` let the host time and count them.
 * Throws when the port cannot be had (taken, not allowed), with the system's reason. Returns the port
 * it listens on (the host asks for an ephemeral loopback port and serves the declared one itself).
 */
export function serveHttp(http: HttpShim, handler: { handle: Handle }, port: number, host: string, hooks: RequestHooks): number {
  const { HTTPServer, types } = serverParts(http);
  const server = new HTTPServer({
    handle(request: unknown, responseOut: unknown) {
      hooks.begin();
      try {
        handler.handle(request, responseOut);
        hooks.end(undefined);
      } catch (err) {
        answerFailure(types, responseOut); // the instance was this request's alone: the next one is fresh
        hooks.end(err);
      } finally {
        releaseBody(request);
      }
    },
  });
  try {
    server.listen(port, host);
    return server.address().port;
  } catch (err) {
    throw new Error(`cannot listen on ${host}:${port}: ${(err as { message?: string }).message ?? String(err)}`);
  }
}
