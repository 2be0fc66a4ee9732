/**
 * Entry of one workload's worker thread: builds the sandboxed imports, instantiates the component and
 * runs the calls the main thread sends, one at a time. All per-process state of preview2-shim (stdio,
 * exit) is per thread here, which is why each workload gets its own worker.
 */
import { ioThreadHeap } from './shim-threads.js'; // first: before preview2-shim starts its I/O thread
import { addHeaps, reportHeapEvery } from './heap-report.js';
import { paceIfExposed } from '../paced-gc.js';
import type { CallStats, Effect, Fatal, HandlerCall, HostToWorker, WorkerInit, WorkerToHost } from '../protocol.js';
import { EffectBuffer } from './effects.js';
import { hostPort } from './host-port.js';
import { loadGenerated } from '../generated-script.js';
import { entry, type Exports } from './exports.js';
import { hostImports } from './host-api.js';
import { guestLog } from './guest-log.js';
import { standardImports } from './standard-imports.js';
import { KvStore } from './kv-store.js';
import { OutboxWriter } from '../../outbox/writer.js';
import { GuestExit, servedImports, wasiImports } from './sandbox.js';
import { httpShim, importsHttp } from './shim.js';
import { enforceStorageQuota } from './storage-quota.js';
import { clampReads } from './io-clamp.js';
import { fixFilesystem } from './filesystem-fixes.js';
import { withMessageTrace } from './trace-context.js';
import { answerStdioLocally, captureGuestStdio, passGuestStdioThrough } from './guest-stdio.js';
import type { GuestLog } from './guest-log.js';


const port = hostPort();
let init: WorkerInit;
const memories: WebAssembly.Memory[] = [];
const effects = new EffectBuffer((batch) => post({ type: 'effects', effects: batch }));

function post(message: WorkerToHost): void {
  port.postMessage(message, 'effects' in message ? transferables(message.effects) : []);
}

/**
 * A call's result crosses to the main thread only if it can be answered: IoT Hub's method payload
 * limit. Bigger ones are refused here, before the copy (a 24 MB result once stalled the host 5 s).
 */
const MAX_RESULT_BYTES = 128 * 1024;
/** A guest's error text is for a status line and a log: longer is cut here. */
const MAX_ERROR_CHARS = 4096;

/** The UTF-8 size of `text` when it is over `limit`, else undefined (measured only when it could be). */
function oversize(text: string, limit: number): number | undefined {
  if (text.length * 3 <= limit) return undefined;
  const bytes = Buffer.byteLength(text);
  return bytes > limit ? bytes : undefined;
}

function cutError(error: string): string {
  return error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS)}... (${error.length} characters)` : error;
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

/** Makes a fresh instance of one of the worker's components, with extra imports (a graph node's own). */
type Fresh = (component?: number, extra?: Record<string, unknown>) => Exports;

/**
 * Loads the generated code and builds the sandboxed imports once; returns a function that makes a
 * fresh guest instance from them (synchronously: an http request is answered by an instance of its
 * own, made while the request waits).
 */
async function prepare(): Promise<{ fresh: Fresh; shared: Record<string, unknown>; kv: KvStore | undefined; log: GuestLog }> {
  clampReads();
  fixFilesystem();
  answerStdioLocally();
  const data = init.preopens['/data'];
  if (data && init.storageQuotaBytes) enforceStorageQuota(data, init.storageQuotaBytes, (detail) => effects.refuse('storage', 'quota', detail));
  const kv = init.kvDir ? new KvStore(init.kvDir) : undefined;
  const generated = init.components.map((c) => loadGenerated<Exports>(c.componentFile));
  const outbox = init.outbox && new OutboxWriter(init.outbox.dir, init.digest, new BigInt64Array(init.outbox.counters), init.outbox.capBytes, init.outbox.fsync);
  const log = guestLog(effects);
  const http = importsHttp(init.components.flatMap((c) => c.imports)) ? await httpShim() : undefined;
  const shared = { ...wasiImports(init, effects, http), ...standardImports(init, kv, log), ...hostImports(init, effects, kv, log, outbox) };
  const fresh: Fresh = (index = 0, extra) => {
    const component = init.components[index]!;
    const imports = servedImports(component.imports, extra ? { ...shared, ...extra } : shared);
    const module = (name: string) => {
      const compiled = component.modules?.[name];
      if (!compiled) throw new Error(`core module ${name} missing from the compile cache`);
      return compiled;
    };
    return generated[index]!(module, imports, (core, coreImports) => {
      const instance = new WebAssembly.Instance(core, keepExitCode(coreImports));
      for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.push(value);
      return instance;
    });
  };
  return { fresh, shared, kv, log };
}

/**
 * A preview1 program's `proc_exit(code)` ends it with that code. The preview1 adapter would pass it on
 * as wasi:cli/exit's `err` (every code but 0 arrived as 1); the main module's import of it is the one
 * place where the code is still known.
 */
function keepExitCode(imports: WebAssembly.Imports | undefined): WebAssembly.Imports | undefined {
  const preview1 = imports?.wasi_snapshot_preview1;
  if (!preview1 || !('proc_exit' in preview1)) return imports;
  const procExit = (code: number): never => {
    throw new GuestExit(code >>> 0);
  };
  return { ...imports, wasi_snapshot_preview1: { ...preview1, proc_exit: procExit } };
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
      return withMessageTrace(call.msg, () => fn(call.source, call.msg));
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
  const { message } = err;
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

/** Requests one instance answers before a fresh one takes over (where instances are reused at all). */
const REQUESTS_PER_INSTANCE = 1000;

/**
 * http workloads: requests arrive from the server, not as calls. Each is answered by a fresh instance
 * (wasi:http's proxy model) where the guest needs it (StarlingMonkey's trap on a second request), else
 * one instance serves up to REQUESTS_PER_INSTANCE of them and is replaced after any failure.
 * Each is reported to the host like a call, so it has the call deadline and its effects go out.
 */
async function startServing(first: Exports, fresh: Fresh): Promise<number> {
  const [{ serveHttp }, http] = await Promise.all([import('./http-server.js'), httpShim()]);
  const handlerOf = (exports: Exports) => entry(exports, 'wasi:http/incoming-handler') as { handle: (request: unknown, out: unknown) => void } | undefined;
  if (!handlerOf(first)?.handle || !init.listen) throw new Error('component does not export wasi:http/incoming-handler#handle');
  let current: Exports | undefined = first;
  let served = 0;
  let started = 0;
  // One instance at a time: its memories alone tell oom from a trap.
  const instance = () => {
    memories.length = 0;
    return fresh();
  };
  return serveHttp(http, {
    handle: (request, out) => {
      current ??= instance();
      served++;
      handlerOf(current)!.handle(request, out);
    },
  }, init.listen.port, init.listen.host, {
    begin() {
      started = performance.now();
      post({ type: 'request' });
    },
    end(err) {
      // An instance serves the next request too where the guest allows it, until it fails or has served its share.
      const keep = init.reuseHttpInstance && err === undefined && served < REQUESTS_PER_INSTANCE;
      if (!keep) {
        current = undefined;
        served = 0;
      }
      const failure = err === undefined ? undefined : classify(err);
      const error = failure && `${failure.fatal?.reason ?? 'trap'}: ${failure.fatal?.message ?? failure.error}`;
      post({ type: 'responded', ok: err === undefined, error, effects: effects.take(), ...stats(started) });
      if (keep) return;
      // Make the next request's instance now, while idle: a request that finds it ready skips ~20 ms.
      // If making it fails, the next request tries again and reports why.
      setImmediate(() => {
        try {
          current ??= instance();
        } catch {
          current = undefined;
        }
      });
    },
  });
}

async function main(received: WorkerInit): Promise<void> {
  init = received;
  const endStdio = init.captureStdio ? captureGuestStdio(init, effects, post) : (passGuestStdioThrough(), () => undefined);
  let run: (call: HandlerCall) => unknown;
  let httpPort: number | undefined;
  try {
    const prepared = await prepare();
    if (init.graph) {
      // Loaded only by graph workloads: seven modules every other worker (and `wasmhost run`) skips.
      const { graphCalls } = await import('./graph/graph-calls.js');
      run = graphCalls(init.graph, prepared, effects, init.workload);
    } else {
      const exports = prepared.fresh();
      if (init.kind === 'http') httpPort = await startServing(exports, prepared.fresh);
      run = (call) => invoke(exports, call);
    }
  } catch (err) {
    post({ type: 'startup-failed', error: err instanceof Error ? err.message : String(err) });
    return;
  }
  let dead = false;
  port.on('message', (message: HostToWorker) => {
    if (message.type === 'close') {
      endStdio(); // a last line without a newline
      return port.close(); // the thread then ends by itself
    }
    if (message.type !== 'call' || dead) return;
    const { id, call } = message;
    const started = performance.now();
    try {
      const value = run(call);
      const tooLarge = typeof value === 'string' ? oversize(value, MAX_RESULT_BYTES) : undefined;
      if (tooLarge) post({ type: 'result', id, ok: false, error: `${call.fn} result is ${tooLarge} bytes; the limit is ${MAX_RESULT_BYTES}`, fatal: undefined, effects: effects.take(), ...stats(started) });
      else post({ type: 'result', id, ok: true, value: typeof value === 'string' ? value : undefined, effects: effects.take(), ...stats(started) });
    } catch (err) {
      const { error, fatal } = classify(err);
      dead = fatal !== undefined; // after a trap or exit the instance is unusable
      post({ type: 'result', id, ok: false, error: cutError(error), fatal, effects: effects.take(), ...stats(started) });
    }
  });
  post({ type: 'ready', effects: effects.take(), httpPort });
  // Between calls (the event loop turns only then); with the I/O thread's, once the shim has started it.
  reportHeapEvery((heap) => post({ type: 'heap', ...addHeaps(heap, ioThreadHeap()) }));
  // In the runner (started with --expose-gc): an http guest's instance per request, above all, would
  // otherwise pile up in the heap and outside it for ~20 minutes before V8 collects (paced-gc.ts).
  paceIfExposed();
}

// Started ahead of need (WarmWorkers): shim modules load now, the guest arrives with `init`.
port.once('message', (message: HostToWorker) => {
  if (message.type === 'init') void main(message.init);
});
