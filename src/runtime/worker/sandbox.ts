import { cli, http } from '@bytecodealliance/preview2-shim';
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
  const shim = new WASIShim({
    cli: { ...cli, exit },
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
