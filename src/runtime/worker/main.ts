/**
 * Entry of one workload's worker thread: builds the sandboxed imports, instantiates the component and
 * runs the calls the main thread sends, one at a time. All per-process state of preview2-shim (stdio,
 * exit) is per thread here, which is why each workload gets its own worker.
 */
import { parentPort } from 'node:worker_threads';
import type { CallStats, Effect, Fatal, HandlerCall, HostToWorker, WorkerInit, WorkerToHost } from '../protocol.js';
import { EffectBuffer } from './effects.js';
import { hostImports } from './host-api.js';
import { KvStore } from './kv-store.js';
import { OutboxWriter } from '../../outbox/writer.js';
import { GuestExit, wasiImports } from './sandbox.js';
import { enforceStorageQuota } from './storage-quota.js';

type GuestFn = (...args: unknown[]) => unknown;
type Exports = Record<string, Record<string, GuestFn> | undefined>;

const port = parentPort!;
let init: WorkerInit;
const memories: WebAssembly.Memory[] = [];
const effects = new EffectBuffer((batch) => post({ type: 'effects', effects: batch }));

function post(message: WorkerToHost): void {
  port.postMessage(message, 'effects' in message ? transferables(message.effects) : []);
}

/** Below this, copying a body is cheaper than detaching its buffer. */
const TRANSFER_MIN_BYTES = 4096;

/** Large message bodies are fresh copies out of guest memory: move them instead of cloning. */
function transferables(list: Effect[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const e of list) {
    if (e.type !== 'telemetry' && e.type !== 'publish') continue;
    const { body } = e.msg;
    if (body.byteLength >= TRANSFER_MIN_BYTES && body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer) out.push(body.buffer);
  }
  return out;
}

async function instantiate(): Promise<Exports> {
  const data = init.preopens['/data'];
  if (data && init.storageQuotaBytes) enforceStorageQuota(data, init.storageQuotaBytes, (detail) => effects.refuse('storage', 'quota', detail));
  const kv = init.kvDir ? new KvStore(init.kvDir) : undefined;
  const { instantiate } = (await import(init.componentUrl)) as {
    instantiate: (get: (name: string) => WebAssembly.Module, imports: unknown, core: unknown) => Promise<Exports>;
  };
  const outbox = init.outbox && new OutboxWriter(init.outbox.dir, init.digest, new BigInt64Array(init.outbox.counters), init.outbox.capBytes, init.outbox.fsync);
  const imports = { ...wasiImports(init, effects), ...hostImports(init, effects, kv, outbox) };
  return instantiate(
    (name) => {
      const module = init.modules[name];
      if (!module) throw new Error(`core module ${name} missing from the compile cache`);
      return module;
    },
    imports,
    async (module: WebAssembly.Module, moduleImports: WebAssembly.Imports) => {
      const instance = await WebAssembly.instantiate(module, moduleImports);
      for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.push(value);
      return instance;
    },
  );
}

function entry(exports: Exports, prefix: string): Record<string, GuestFn> | undefined {
  const key = Object.keys(exports).find((k) => k === prefix || k.startsWith(`${prefix}@`));
  return key ? exports[key] : undefined;
}

function invoke(exports: Exports, call: HandlerCall): unknown {
  if (call.fn === 'run') {
    const run = entry(exports, 'wasi:cli/run')?.run;
    if (!run) throw new Error('component does not export wasi:cli/run');
    return run();
  }
  const handler = entry(exports, 'edge:host/handler') ?? exports.handler;
  const fn = handler?.[call.fn];
  if (!fn) throw new Error(`component does not export edge:host/handler#${call.fn}`);
  switch (call.fn) {
    case 'onMessage':
      return fn(call.source, call.msg);
    case 'onMethod':
      return fn(call.name, call.payload);
    default:
      return fn();
  }
}

/** Turns what a guest call threw into a guest `err` (the instance lives on) or a fatal reason. */
function classify(err: unknown): { error: string; fatal: Fatal | undefined } {
  if (err instanceof GuestExit) return { error: err.message, fatal: { reason: 'exit', message: err.message, exitCode: err.code } };
  // jco throws a guest's `err` payload as is (a string, or undefined for `result` without payload).
  if (!(err instanceof Error)) return { error: err === undefined ? 'error' : String(err), fatal: undefined };
  const message = err instanceof Error ? err.message : String(err);
  const limit = init.memoryLimitBytes;
  if (err instanceof WebAssembly.RuntimeError && memories.some((m) => m.buffer.byteLength + 65536 > limit)) {
    return { error: message, fatal: { reason: 'oom', message: `memory limit of ${limit / 1048576} MB reached (${message})` } };
  }
  return { error: message, fatal: { reason: 'trap', message } };
}

function stats(started: number): CallStats {
  let memoryBytes = 0;
  for (const memory of memories) memoryBytes += memory.buffer.byteLength;
  return { durationMs: performance.now() - started, memoryBytes };
}

async function main(received: WorkerInit): Promise<void> {
  init = received;
  let exports: Exports;
  try {
    exports = await instantiate();
  } catch (err) {
    post({ type: 'startup-failed', error: err instanceof Error ? err.message : String(err) });
    return;
  }
  let dead = false;
  port.on('message', (message: HostToWorker) => {
    if (message.type === 'close') return port.close(); // let stdout drain, then the thread ends by itself
    if (message.type !== 'call' || dead) return;
    const { id, call } = message;
    const started = performance.now();
    try {
      const value = invoke(exports, call);
      post({ type: 'result', id, ok: true, value: typeof value === 'string' ? value : undefined, effects: effects.take(), ...stats(started) });
    } catch (err) {
      const { error, fatal } = classify(err);
      dead = fatal !== undefined; // after a trap or exit the instance is unusable
      post({ type: 'result', id, ok: false, error, fatal, effects: effects.take(), ...stats(started) });
    }
  });
  post({ type: 'ready', effects: effects.take() });
}

// Started ahead of need (WarmWorkers): shim modules load now, the guest arrives with `init`.
port.once('message', (message: HostToWorker) => {
  if (message.type === 'init') void main(message.init);
});
