import { http } from '@bytecodealliance/preview2-shim';

type Handle = (request: unknown, responseOut: unknown) => void;
interface ShimServer {
  listen(port: number, host: string): void;
}
/** Node-only: the package's type conditions resolve to its browser build, which has no server. */
const { HTTPServer } = http as unknown as { HTTPServer: new (handler: { handle: Handle }) => ShimServer };

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
 * Throws when the port cannot be had (taken, not allowed), with the system's reason.
 */
export function serveHttp(handler: { handle: Handle }, port: number, host: string, hooks: RequestHooks): void {
  const server = new HTTPServer({
    handle(request: unknown, responseOut: unknown) {
      hooks.begin();
      try {
        handler.handle(request, responseOut);
        hooks.end(undefined);
      } catch (err) {
        hooks.end(err); // the host ends the instance; its connection closes with the worker
      }
    },
  });
  try {
    server.listen(port, host);
  } catch (err) {
    throw new Error(`cannot listen on ${host}:${port}: ${(err as { message?: string }).message ?? String(err)}`);
  }
}
