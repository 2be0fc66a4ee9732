import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { boundServer } from '../bounded-server.js';

/** Request and response bodies are held whole here (so no client's pace reaches the guest): capped. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
/**
 * Requests admitted at once (reading, waiting for the guest, answering): the guest serves a few at a
 * time, so past this a client gets 503 rather than a place in a queue that would grow with the load.
 */
export const MAX_PENDING_REQUESTS = 64;
/** Request bodies held at once, all clients together (each is also capped at MAX_BODY_BYTES). */
export const MAX_HELD_BODY_BYTES = 64 * 1024 * 1024;
/** Open client connections; past this the server refuses new ones at accept. */
const MAX_CONNECTIONS = 512;
/** Headers that describe one hop's connection, not the message (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/**
 * The public side of an http workload, in the host: it owns the declared port, reads each request's
 * head and body under their own deadlines and size cap (408, 413), and only then hands the complete
 * request to the guest's server on an internal loopback port; the guest's answer is read whole and
 * then written to the client. A slow or stalled client costs a socket here, never the guest's call
 * deadline: before this, one client sending a byte a second ended the workload.
 */
export class HttpFront {
  readonly #server: Server;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 4 });
  #pending = 0;
  readonly #held = { bytes: 0 };

  private constructor(server: Server, private readonly upstreamPort: number) {
    this.#server = server;
  }

  static async listen(port: number, host: string, upstreamPort: number): Promise<HttpFront> {
    const server = boundServer(createServer(), MAX_CONNECTIONS);
    const front = new HttpFront(server, upstreamPort);
    server.on('request', (req, res) => void front.#serve(req, res));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
    return front;
  }

  /** The port it listens on (the one asked for, or the one the system gave for port 0). */
  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    this.#agent.destroy();
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server.close(r));
  }

  /** Requests admitted and not yet answered (diagnostics and tests). */
  get pending(): number {
    return this.#pending;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#pending >= MAX_PENDING_REQUESTS) return answer(res, 503, `busy: ${MAX_PENDING_REQUESTS} requests wait for this workload`, true);
    this.#pending++;
    const held = { bytes: 0 };
    try {
      const body = await readCapped(req, this.#held, held);
      if (body === 'too-large') return answer(res, 413, `request body over ${MAX_BODY_BYTES} bytes`, true);
      if (body === 'busy') return answer(res, 503, `busy: request bodies held for this workload reached ${MAX_HELD_BODY_BYTES} bytes`, true);
      if (body === 'aborted') return;
      const upstream = await this.#forward(req, body);
      res.writeHead(upstream.status, upstream.headers).end(upstream.body);
    } catch (err) {
      answer(res, 502, `the workload did not answer: ${(err as Error).message}`);
    } finally {
      this.#pending--;
      this.#held.bytes -= held.bytes;
    }
  }

  #forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const upstream = request(
        { host: '127.0.0.1', port: this.upstreamPort, method: req.method, path: req.url, headers: { ...endToEnd(req.headers), 'content-length': String(body.length) }, agent: this.#agent },
        (response) => {
          void readCapped(response).then((answerBody) => {
            if (typeof answerBody === 'string') return reject(new Error(answerBody === 'too-large' ? `response over ${MAX_BODY_BYTES} bytes` : 'response cut short'));
            resolve({ status: response.statusCode ?? 502, headers: { ...endToEnd(response.headers), 'content-length': String(answerBody.length) }, body: answerBody });
          });
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

function answer(res: ServerResponse, status: number, message: string, close = false): void {
  if (res.headersSent) return void res.destroy();
  const headers = { 'content-type': 'text/plain', ...(close && { connection: 'close' }), ...(status === 503 && { 'retry-after': '1' }) };
  res.writeHead(status, headers).end(`${status}: ${message}\n`);
}

/** Bytes of bodies held: by all of a front's requests (`total`) and by this one (`mine`). */
interface Held {
  bytes: number;
}

/** A whole body, or why not: over its own cap, over what all requests together may hold, or cut short. */
function readCapped(stream: IncomingMessage, total?: Held, mine?: Held): Promise<Buffer | 'too-large' | 'busy' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const refuse = (why: 'too-large' | 'busy') => {
      stream.removeAllListeners('data');
      stream.resume(); // drain what is in flight; the answer closes the connection
      resolve(why);
    };
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return refuse('too-large');
      if (total && mine) {
        if (total.bytes + chunk.length > MAX_HELD_BODY_BYTES) return refuse('busy');
        total.bytes += chunk.length;
        mine.bytes += chunk.length;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => resolve(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks)));
    stream.on('error', () => resolve('aborted'));
    stream.on('aborted', () => resolve('aborted'));
  });
}
