import { cli, http, io } from '@bytecodealliance/preview2-shim';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';
import type { WorkerInit } from '../protocol.js';
import type { EffectBuffer } from './effects.js';

/** Thrown by the replaced `wasi:cli/exit`: unwinds the guest instead of ending the host process. */
export class GuestExit extends Error {
  constructor(readonly code: number) {
    super(`guest called exit(${code})`);
  }
}

type Scheme = { tag: 'HTTP' | 'HTTPS' } | { tag: 'other'; val: string } | undefined;
interface OutgoingRequest {
  scheme(): Scheme;
  authority(): string | undefined;
}

/**
 * The WASI imports of one workload, deny by default (design.md "Sandbox"): only its own preopens,
 * env and args (never the host's), no sockets, outbound HTTP only to `allowedHosts`, and an `exit`
 * that ends the guest, not the process. stdout/stderr are this worker's own streams, which the main
 * thread reads (Worker `stdout: true`), so they stay per workload.
 */
export function wasiImports(init: WorkerInit, effects: EffectBuffer): Record<string, unknown> {
  const exit = {
    exit(status: { tag: 'ok' | 'err' }): never {
      throw new GuestExit(status.tag === 'err' ? 1 : 0);
    },
    exitWithCode(code: number): never {
      throw new GuestExit(code);
    },
  };
  // The guest's working directory is its own /data (or /), never the host's.
  const initialCwd = init.preopens['/data'] ? '/data' : '/';
  const environment = { ...(cli as unknown as { environment: object }).environment, initialCwd: () => initialCwd };
  const shim = new WASIShim({
    // `wasmhost run` passes its stdin through, as wasmtime run does; a workload has none.
    cli: { ...cli, exit, environment, stdin: { getStdin: init.captureStdio ? emptyStdin : lazyStdin } },
    sandbox: { preopens: init.preopens, env: init.env, args: [init.workload, ...init.args], enableNetwork: false },
  } as ConstructorParameters<typeof WASIShim>[0]);
  const imports = shim.getImportObject() as Record<string, unknown>;
  imports['wasi:http/outgoing-handler'] = {
    handle(request: OutgoingRequest, options: unknown) {
      const authority = request.authority() ?? '';
      if (!hostAllowed(init.allowedHosts, request.scheme(), authority)) {
        effects.refuse('http', 'denied', `outbound HTTP to ${authority || '(no authority)'} denied: not in capabilities.http.allowedHosts`);
        throw { tag: 'HTTP-request-denied' };
      }
      return (http.outgoingHandler.handle as (r: unknown, o: unknown) => unknown)(request, options);
    },
  };
  return imports;
}

type Stream = Record<'read' | 'blockingRead' | 'skip' | 'blockingSkip', (...args: unknown[]) => unknown>;
const STREAM_METHODS = ['read', 'blockingRead', 'skip', 'blockingSkip', 'subscribe'] as const;
let stdin: Stream | undefined;
const { InputStream } = (io as unknown as { streams: { InputStream: new () => Stream } }).streams;

/**
 * A workload has no stdin: it reads end-of-file at once. (The shim's own would be the module's stdin,
 * made through its I/O thread, which the adapter of every preview1 program asks for at start: ~90 ms
 * and an isolate per workload.)
 */
function emptyStdin(): Stream {
  if (stdin) return stdin;
  const closed = (): never => {
    throw { tag: 'closed' };
  };
  stdin = Object.assign(new InputStream(), { read: closed, blockingRead: closed, skip: closed, blockingSkip: closed });
  return stdin;
}

/**
 * `wasmhost run`'s stdin: the process's own, made (through the shim's I/O thread, ~90 ms to start) only
 * when the guest first reads or polls it. Every preview1 program's adapter asks for it at start; most
 * never read it.
 */
function lazyStdin(): Stream {
  if (stdin) return stdin;
  let real: Record<string, (...args: unknown[]) => unknown> | undefined;
  const delegate = (method: string) => (...args: unknown[]) => {
    real ??= (cli as unknown as { stdin: { getStdin(): Record<string, (...a: unknown[]) => unknown> } }).stdin.getStdin();
    return real[method]!(...args);
  };
  stdin = Object.assign(new InputStream(), Object.fromEntries(STREAM_METHODS.map((m) => [m, delegate(m)])) as Stream);
  return stdin;
}

/**
 * The import object a guest is instantiated with. jco resolves imports by name on plain objects, so an
 * instance named `constructor` would be handed `Object` (and `constructor.constructor` is `Function`):
 * every level is rebuilt without a prototype, and a component that imports an interface the host does
 * not serve is refused before instantiation, naming it.
 */
export function servedImports(wanted: readonly string[], provided: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const missing = wanted.filter((name) => !Object.hasOwn(provided, name));
  if (missing.length) throw new Error(`the component imports ${missing.map((m) => JSON.stringify(m)).join(', ')}, which this host does not provide`);
  const served = Object.create(null) as Record<string, Record<string, unknown>>;
  for (const name of wanted) served[name] = Object.assign(Object.create(null) as Record<string, unknown>, provided[name]);
  return served;
}

/** An entry without a port allows the scheme's default port only. */
export function hostAllowed(allowed: readonly string[], scheme: Scheme, authority: string): boolean {
  if (!authority) return false;
  const defaultPort = scheme?.tag === 'HTTP' ? '80' : '443';
  const [host, port = defaultPort] = authority.toLowerCase().split(':');
  return allowed.some((entry) => {
    const [allowedHost, allowedPort = defaultPort] = entry.toLowerCase().split(':');
    return allowedHost === host && allowedPort === port;
  });
}
