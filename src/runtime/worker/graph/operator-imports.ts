import type { GuestLog } from '../guest-log.js';
import type { GraphMeter } from './operator-metrics.js';

const LEVELS: Record<string, Parameters<GuestLog>[0]> = { trace: 'trace', debug: 'debug', info: 'info', warn: 'warn', error: 'error', critical: 'error' };

/** A host-held byte buffer (wasm-graph:processor's `buffer` resource). This host passes bytes inline, so guests only meet ones they never get; the class must exist to link. */
class HostBuffer {
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  read(): Uint8Array {
    return this.#bytes;
  }
}

/** command-invoker (AIO's MQTT RPC) has no service on IoT Edge: every step answers an error the operator can handle. */
function notServed(): never {
  throw { tag: 'client-error' };
}

/** Every resource of command-invoker: it may be made; each of its methods answers the error. */
class Unserved {}
const UNSERVED_METHODS = ['payload', 'customUserData', 'topicTokens', 'timeout', 'build', 'requestTopicPattern', 'responseTopicPattern', 'commandName', 'topicNamespace', 'topicTokenMap', 'responseTopicPrefix', 'responseTopicSuffix', 'invoke'];
for (const method of UNSERVED_METHODS) Object.defineProperty(Unserved.prototype, method, { value: notServed });

/**
 * The wasm-graph:processor imports of one operator node: `logger` into the workload's log (the node's
 * name and the operator's context on each line), `metrics` into its series (labelled with the node),
 * `state-store` on the workload's kv (one for all its nodes, as AIO's is for a graph's), and the type-only
 * interfaces; `command-invoker` and `schema-registry` answer errors.
 */
export function operatorImports(node: string, deps: { log: GuestLog; meter: GraphMeter; stateStore: Record<string, unknown> }): Record<string, unknown> {
  return {
    'wasm-graph:processor/logger': {
      log(level: string, context: string, message: string): void {
        deps.log(LEVELS[level] ?? 'info', `[${node}]${context ? ` ${context}:` : ''} ${message}`);
      },
    },
    'wasm-graph:processor/metrics': deps.meter.imports(node),
    'wasm-graph:processor/state-store': deps.stateStore,
    'wasm-graph:processor/types': { Buffer: HostBuffer },
    'wasm-graph:processor/hybrid-logical-clock': {},
    'wasm-graph:processor/state-store-types': {},
    'wasm-graph:processor/rpc-types': {},
    'wasm-graph:processor/schema-types': {},
    'wasm-graph:processor/command-invoker': {
      CommandRequest: Unserved,
      CommandRequestBuilder: Unserved,
      CommandInvokerOptions: Unserved,
      CommandInvokerOptionsBuilder: Unserved,
      CommandInvoker: Unserved,
      newInvoker: notServed,
    },
    'wasm-graph:processor/schema-registry': {
      get(): never {
        throw { tag: 'not-available' };
      },
    },
  };
}
