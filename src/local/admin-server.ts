import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dispatchMethod, MAX_METHOD_PAYLOAD_BYTES, type MethodResponse } from '../methods/index.js';
import type { GuestMessage } from '../runtime/index.js';
import type { Supervisor } from '../supervisor/index.js';

type Handlers = Parameters<typeof dispatchMethod>[0];

/**
 * Local mode's stand-in for IoT Hub direct methods and edgeHub inputs, on 127.0.0.1 only:
 *   POST /methods/<name>   body = method payload (JSON)  -> status and JSON result, as a direct method
 *   POST /inputs/<input>   body = message                -> on-message of workloads listing that input
 *   POST /topics/<topic>   body = message                -> on-message of workloads subscribed to it
 */
export async function startAdminServer(port: number, handlers: Handlers, supervisor: Supervisor): Promise<Server & { port: number }> {
  const server = createServer((req, res) => {
    const reply = ({ status, payload }: MethodResponse) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload ?? null));
    };
    if (req.method !== 'POST') return reply({ status: 405, payload: { message: 'use POST' } });
    readBody(req).then(async (body) => {
      const [, kind, name = ''] = /^\/(methods|inputs|topics)\/(.+)$/.exec(decodeURIComponent(req.url ?? '')) ?? [];
      if (kind === 'methods') {
        let payload: unknown = null;
        if (body.length) {
          try {
            payload = JSON.parse(body.toString('utf8'));
          } catch {
            return reply({ status: 400, payload: { message: 'payload is not JSON' } });
          }
        }
        return reply(await dispatchMethod(handlers, name, payload));
      }
      const msg: GuestMessage = { body: body, contentType: req.headers['content-type'] ?? undefined, properties: [] };
      if (kind === 'inputs') supervisor.deliverInput(name, msg);
      else if (kind === 'topics') supervisor.publish(name, msg);
      else return reply({ status: 404, payload: { message: 'unknown path' } });
      return reply({ status: 202, payload: { accepted: true } });
    }, (err: Error) => reply({ status: 413, payload: { message: err.message } }));
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_METHOD_PAYLOAD_BYTES) chunks.push(chunk); // past the cap: drain, keep nothing
    });
    req.on('end', () => (size > MAX_METHOD_PAYLOAD_BYTES ? reject(new Error(`payload over ${MAX_METHOD_PAYLOAD_BYTES} bytes`)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}
