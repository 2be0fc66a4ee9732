import { WasmhostError } from '../errors.js';
import { collectCapped } from './capped.js';
import { redact } from './source.js';

const MAX_REDIRECTS = 5;

/** A failed fetch; `retryable` says whether trying again may help (network, 5xx, 429). */
export class FetchError extends WasmhostError {
  constructor(message: string, readonly retryable: boolean, options?: { cause?: unknown }) {
    super('WH_ERR_FETCH_FAILED', message, options);
  }
}

export interface RequestOptions {
  /** Whether a redirect may lead from https to plain http (WASMHOST_ALLOW_HTTP). */
  readonly allowHttp: boolean;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array | string;
  readonly timeoutMs: number;
}

/**
 * One HTTP request, following at most MAX_REDIRECTS redirects. A redirect never lowers https to plain
 * http unless plain http is allowed, and credentials go only to the exact origin (scheme, host, port)
 * they were given for (registries redirect blob downloads to storage with signed URLs).
 */
export async function request(url: string, options: RequestOptions): Promise<Response> {
  const origin = new URL(url).origin;
  let current = new URL(url);
  let headers = { ...options.headers };
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      response = await fetch(current, {
        method: options.method ?? 'GET',
        headers,
        body: options.body as BodyInit | undefined,
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new FetchError(`cannot reach ${current.host}: ${cause}`, true, { cause: err });
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return response;
    if (hop >= MAX_REDIRECTS) throw new FetchError(`more than ${MAX_REDIRECTS} redirects from ${redact(url)}`, false);
    await response.body?.cancel();
    const next = new URL(location, current);
    if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new FetchError(`redirect from ${redact(current.href)} to a ${next.protocol} URL refused`, false);
    if (current.protocol === 'https:' && next.protocol === 'http:' && !options.allowHttp) {
      throw new FetchError(`redirect from ${redact(current.href)} to plain http (${redact(next.href)}) refused (WASMHOST_ALLOW_HTTP is off)`, false);
    }
    if (next.origin !== origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
    current = next;
  }
}

/** Fails with a clear message for a non-2xx response; 5xx and 429 are worth retrying. */
export async function expectOk(response: Response, what: string): Promise<Response> {
  if (response.ok) return response;
  await response.body?.cancel();
  throw new FetchError(`${what}: HTTP ${response.status}`, response.status >= 500 || response.status === 429);
}

/** Reads a body up to `maxBytes` (collectCapped), failing early on a declared length over it. */
export async function readCapped(response: Response, maxBytes: number, what: string): Promise<{ bytes: Uint8Array; digest: string }> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new WasmhostError('WH_ERR_BLOB_TOO_LARGE', `${what} is ${declared} bytes; the limit is ${maxBytes} (WASMHOST_MAX_BLOB_MB)`);
  }
  try {
    return await collectCapped(response.body ?? [], maxBytes, what);
  } catch (err) {
    if (err instanceof WasmhostError) {
      await response.body?.cancel().catch(() => undefined);
      throw err;
    }
    throw new FetchError(`${what}: download interrupted (${(err as Error).message})`, true, { cause: err });
  }
}
