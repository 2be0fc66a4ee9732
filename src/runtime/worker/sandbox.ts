import { cli, clocks, filesystem, io, random, sockets, type HttpShim } from './shim.js';
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

/** The shim's factories for isolated namespaces (Node build; the package's types are the browser's). */
const { createFilesystem } = filesystem as unknown as { createFilesystem(options: { preopens: Record<string, string> }): { types: unknown; preopens: unknown } };
const { createSockets } = sockets as unknown as { createSockets(options: { enableNetwork: boolean }): Record<string, unknown> };

/**
 * The WASI imports of one workload, deny by default (design.md "Sandbox"): only its own preopens,
 * env and args (never the host's), no sockets, outbound HTTP only to `allowedHosts`, and an `exit`
 * that ends the guest, not the process. stdout/stderr are this worker's own streams, which the main
 * thread reads (Worker `stdout: true`), so they stay per workload. `http` is the shim's wasi:http for a
 * guest that imports it, else undefined (and its interfaces are not served).
 */
export function wasiImports(init: WorkerInit, effects: EffectBuffer, http: HttpShim | undefined): Record<string, unknown> {
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
  const env = Object.entries(init.env);
  const args = [init.workload, ...init.args];
  const environment = { ...(cli as unknown as { environment: object }).environment, getEnvironment: () => env, getArguments: () => args, initialCwd: () => initialCwd };
  const fs = createFilesystem({ preopens: init.preopens });
  const net = createSockets({ enableNetwork: false });
  const shim = cli as unknown as Record<'stdout' | 'stderr' | 'terminalInput' | 'terminalOutput' | 'terminalStdin' | 'terminalStdout' | 'terminalStderr', unknown>;
  const streams = io as unknown as Record<'error' | 'poll' | 'streams', unknown>;
  const imports: Record<string, unknown> = {
    'wasi:cli/environment': environment,
    'wasi:cli/exit': exit,
    // `wasmhost run` passes its stdin through, as wasmtime run does; a workload has none.
    'wasi:cli/stdin': { getStdin: init.captureStdio ? emptyStdin : lazyStdin },
    'wasi:cli/stdout': shim.stdout,
    'wasi:cli/stderr': shim.stderr,
    'wasi:cli/terminal-input': shim.terminalInput,
    'wasi:cli/terminal-output': shim.terminalOutput,
    'wasi:cli/terminal-stdin': shim.terminalStdin,
    'wasi:cli/terminal-stdout': shim.terminalStdout,
    'wasi:cli/terminal-stderr': shim.terminalStderr,
    'wasi:sockets/instance-network': net.instanceNetwork,
    'wasi:sockets/ip-name-lookup': net.ipNameLookup,
    'wasi:sockets/network': net.network,
    'wasi:sockets/tcp': net.tcp,
    'wasi:sockets/tcp-create-socket': net.tcpCreateSocket,
    'wasi:sockets/udp': net.udp,
    'wasi:sockets/udp-create-socket': net.udpCreateSocket,
    'wasi:filesystem/preopens': fs.preopens,
    'wasi:filesystem/types': fs.types,
    'wasi:io/error': streams.error,
    'wasi:io/poll': streams.poll,
    'wasi:io/streams': streams.streams,
    'wasi:random/random': random.random,
    'wasi:random/insecure': random.insecure,
    'wasi:random/insecure-seed': random.insecureSeed,
    'wasi:clocks/monotonic-clock': clocks.monotonicClock,
    'wasi:clocks/wall-clock': clocks.wallClock,
  };
  if (!http) return imports;
  const outgoing = http.outgoingHandler.handle as (r: unknown, o: unknown) => unknown;
  imports['wasi:http/types'] = http.types;
  imports['wasi:http/incoming-handler'] = http.incomingHandler;
  imports['wasi:http/outgoing-handler'] = {
    handle(request: OutgoingRequest, options: unknown) {
      const authority = request.authority() ?? '';
      if (!hostAllowed(init.allowedHosts, request.scheme(), authority)) {
        effects.refuse('http', 'denied', `outbound HTTP to ${authority || '(no authority)'} denied: not in capabilities.http.allowedHosts`);
        throw { tag: 'HTTP-request-denied' };
      }
      return outgoing(request, options);
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
