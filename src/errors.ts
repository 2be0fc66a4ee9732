/**
 * One catalogue of coded errors (fastify's lib/errors.js is the model). Every error that reaches a user
 * (CLI line, method response, reported lastError) carries a stable code from here; foreign errors (fs,
 * jco, the SDK) are wrapped at the boundary with `cause`. test/errors.test.ts checks the README lists them.
 */
export const ERROR_CODES = {
  WH_ERR_SOURCE_UNSUPPORTED: { status: 400, text: 'unsupported source' },
  WH_ERR_SOURCE_NOT_ALLOWED: { status: 400, text: 'source not allowed' },
  WH_ERR_DIGEST_MISMATCH: { status: 400, text: 'sha256 mismatch' },
  WH_ERR_BLOB_TOO_LARGE: { status: 400, text: 'blob too large' },
  WH_ERR_FETCH_FAILED: { status: 500, text: 'fetch failed' },
  WH_ERR_NOT_WASM: { status: 400, text: 'not a WebAssembly binary' },
  WH_ERR_COMPILE_FAILED: { status: 400, text: 'compile failed' },
  WH_ERR_KIND_UNSUPPORTED: { status: 400, text: 'unsupported workload kind' },
  WH_ERR_LISTEN_REQUIRED: { status: 400, text: 'http workload without capabilities.listen' },
  WH_ERR_MEMORY_LIMIT: { status: 400, text: 'memory limit below the module minimum' },
  WH_ERR_INSTANTIATE_FAILED: { status: 400, text: 'instantiate failed' },
  WH_ERR_BAD_PAYLOAD: { status: 400, text: 'bad payload' },
  WH_ERR_WORKLOAD_UNKNOWN: { status: 404, text: 'unknown workload' },
  WH_ERR_METHOD_UNKNOWN: { status: 404, text: 'unknown method' },
  WH_ERR_NOT_RUNNING: { status: 409, text: 'workload not running' },
  WH_ERR_QUEUE_FULL: { status: 503, text: 'workload queue full' },
  WH_ERR_SUPERSEDED: { status: 409, text: 'superseded by a newer desired spec' },
  WH_ERR_GUEST: { status: 500, text: 'guest returned an error' },
  WH_ERR_CALL_TIMEOUT: { status: 504, text: 'call timed out' },
  WH_ERR_TRAP: { status: 500, text: 'guest trapped' },
  WH_ERR_OOM: { status: 500, text: 'guest out of memory' },
  WH_ERR_CRASH: { status: 500, text: 'the process running the guest died' },
  WH_ERR_EXIT: { status: 500, text: 'guest exited' },
  WH_ERR_CLI_USAGE: { status: 400, text: 'usage' },
  WH_ERR_BUILD_FAILED: { status: 400, text: 'the workload could not be built' },
  WH_ERR_GRAPH_INVALID: { status: 400, text: 'invalid data flow graph' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Marks our errors across copies of this module: the CLI bundle has one, the commands it loads unbundled another. */
const BRAND = Symbol.for('wasmhost.error');

export class WasmhostError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly [BRAND] = true;

  /** `instanceof WasmhostError` holds for an error made by either copy of this class (subclasses check as usual). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== WasmhostError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WasmhostError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
  }
}

export function isWasmhostError(err: unknown, code?: ErrorCode): err is WasmhostError {
  return err instanceof WasmhostError && (code === undefined || err.code === code);
}

/** Message of any thrown value, for logs and reported properties; never a stack. */
export function errorText(err: unknown): string {
  if (err instanceof WasmhostError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
