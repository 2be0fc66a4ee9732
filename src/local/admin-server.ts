import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dispatchMethod, MAX_METHOD_PAYLOAD_BYTES, type MethodResponse } from '../methods/index.js';
import type { GuestMessage } from '../base/index.js';
import type { Supervisor } from '../supervisor/index.js';
import { boundServer } from '../bounded-server.js';

type Handlers = Parameters<typeof dispatchMethod>[0];

/** Operators' tools and scripts, not a crowd: each connection may hold a method payload in memory. */
const MAX_CONNECTIONS = 64;

/** Host headers a request to 127.0.0.1 can honestly carry; anything else is DNS rebinding or a proxy. */
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

/**
 * Local mode's stand-in for IoT Hub direct methods and edgeHub inputs, on 127.0.0.1 only:
 *   POST /methods/<name>   body = method payload (JSON)  -> status and JSON result, as a direct method
 *   POST /inputs/<input>   body = message                -> on-message of workloads listing that input
 *   POST /topics/<topic>   body = message                -> on-message of workloads subscribed to it
 * Only local programs may use it: a request from a web page (it carries Origin), through another host
 * name (Host), or a method payload that is not typed JSON (what a cross-site form cannot send) is
 * refused with 403 or 415. Every malformed request gets a 4xx; nothing a client sends escapes the handler.
 */
export async function startAdminServer(port: number, handlers: Handlers, supervisor: Supervisor): Promise<Server & { port: number }> {
  const server = boundServer(createServer((req, res) => {
    handle(req, handlers, supervisor).then(
      (response) => reply(res, response),
      (err: Error) => reply(res, { status: 500, payload: { message: err.message } }),
    );
  }), MAX_CONNECTIONS);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

async function handle(req: IncomingMessage, handlers: Handlers, supervisor: Supervisor): Promise<MethodResponse> {
  if (req.method !== 'POST') return refuse(405, 'use POST');
  if (req.headers.origin !== undefined) return refuse(403, 'requests from web pages (with an Origin header) are refused');
  if (!LOOPBACK_HOST.test(req.headers.host ?? '')) return refuse(403, 'the Host header must be a loopback address');
  const route = parseRoute(req.url ?? '');
  if (!route) return refuse(400, 'path must be /methods/<name>, /inputs/<input> or /topics/<topic> (URL-encoded)');
  const body = await readBody(req);
  if (body === undefined) return refuse(413, `payload over ${MAX_METHOD_PAYLOAD_BYTES} bytes`);
  if (route.kind === 'methods') {
    const contentType = req.headers['content-type'];
    // A body (or a declared type) must be JSON: a cross-site form can only send form or text types.
    if ((body.length || contentType !== undefined) && !/^application\/json\s*(;|$)/i.test(contentType ?? '')) return refuse(415, 'a method payload needs content-type: application/json');
    let payload: unknown = null;
    if (body.length) {
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch {
        return refuse(400, 'payload is not JSON');
      }
    }
    return dispatchMethod(handlers, route.name, payload);
  }
  const msg: GuestMessage = { body, contentType: req.headers['content-type'] ?? undefined, properties: [] };
  if (route.kind === 'inputs') supervisor.deliverInput(route.name, msg);
  else supervisor.publish(route.name, msg);
  return { status: 202, payload: { accepted: true } };
}

function parseRoute(url: string): { kind: 'methods' | 'inputs' | 'topics'; name: string } | undefined {
  const [, kind, encoded] = /^\/(methods|inputs|topics)\/([^?#]+)$/.exec(url) ?? [];
  if (!kind || !encoded) return undefined;
  try {
    const name = decodeURIComponent(encoded);
    return name.length <= 256 ? { kind: kind as 'methods' | 'inputs' | 'topics', name } : undefined;
  } catch {
    return undefined; // malformed percent-encoding
  }
}

function refuse(status: number, message: string): MethodResponse {
  return { status, payload: { message } };
}

function reply(res: ServerResponse, { status, payload }: MethodResponse): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload ?? null));
}

/** The body, or undefined past the cap (the rest is drained and dropped). */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_METHOD_PAYLOAD_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_METHOD_PAYLOAD_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
