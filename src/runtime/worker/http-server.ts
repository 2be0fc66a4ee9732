import { http } from '@bytecodealliance/preview2-shim';

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
interface ShimTypes {
  Fields: { fromList(entries: Array<[string, Uint8Array]>): unknown };
  OutgoingResponse: new (headers: unknown) => { setStatusCode(code: number): void; body(): OutgoingBody };
  OutgoingBody: { finish(body: OutgoingBody, trailers: undefined): void };
  ResponseOutparam: { set(param: unknown, response: { tag: 'ok'; val: unknown }): void };
}
/** Node-only: the package's type conditions resolve to its browser build, which has no server. */
const { HTTPServer, types } = http as unknown as { HTTPServer: new (handler: { handle: Handle }) => ShimServer; types: ShimTypes };
const encoder = new TextEncoder();

/** Answers a request the guest failed on, unless the guest had answered it already. */
function answerFailure(responseOut: unknown): void {
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
export function serveHttp(handler: { handle: Handle }, port: number, host: string, hooks: RequestHooks): number {
  const server = new HTTPServer({
    handle(request: unknown, responseOut: unknown) {
      hooks.begin();
      try {
        handler.handle(request, responseOut);
        hooks.end(undefined);
      } catch (err) {
        answerFailure(responseOut); // the instance was this request's alone: the next one is fresh
        hooks.end(err);
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
