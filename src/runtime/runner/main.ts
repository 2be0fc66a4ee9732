/**
 * Entry of the runner process: the workload workers live here, so a V8 fatal error in one of them
 * (which ends the whole process, whatever thread caused it) takes down this process, never the host.
 * It does what the host asks over the IPC channel and nothing else; it ends when the host goes.
 */
import { getHeapStatistics } from 'node:v8';
import type { Worker } from 'node:worker_threads';
import { WasmhostError } from '../../errors.js';
import { ACKED, CAP, COUNTERS_BYTES, WRITTEN } from '../../outbox/format.js';
import { setWasmFlags } from '../wasm-flags.js';
import { ThreadWorkers } from '../worker-pool.js';
import type { HostToRunner, RemoteInit, RunnerToHost } from './protocol.js';
import { RELAY_MS, STATS_MS } from './timing.js';
import { paceIfExposed } from '../paced-gc.js';

setWasmFlags();
// Started with --expose-gc unless the host's WASMHOST_PACED_GC is off; every worker here paces its own too.
paceIfExposed();

interface Hosted {
  readonly worker: Worker;
  /** Messages to the worker wait here behind its init (whose core modules may still be compiling). */
  ready: Promise<void>;
  counters: BigInt64Array | undefined;
  written: bigint;
}

const workers = new ThreadWorkers();
const hosted = new Map<number, Hosted>();

function send(message: RunnerToHost): void {
  if (process.connected) process.send!(message);
}

/** Tells the host how far the worker's outbox is written, if that moved. */
function relayWritten(id: number, entry: Hosted): void {
  if (!entry.counters) return;
  const written = Atomics.load(entry.counters, WRITTEN);
  if (written === entry.written) return;
  entry.written = written;
  send({ type: 'written', id, written: Number(written) });
}

function spawn(id: number): void {
  const worker = workers.take(false);
  const entry: Hosted = { worker, ready: Promise.resolve(), counters: undefined, written: 0n };
  hosted.set(id, entry);
  // What a worker writes before its init is the shim's, not the guest's (guest output comes as messages).
  worker.stdout.resume();
  worker.stderr.resume();
  worker.on('message', (message) => {
    relayWritten(id, entry); // first: the host must know of telemetry before the call that sent it returns
    send({ type: 'message', id, message });
  });
  worker.on('error', (err: Error & { code?: string }) => send({ type: 'error', id, message: err.message, code: err.code }));
  worker.on('exit', (code) => {
    relayWritten(id, entry);
    hosted.delete(id);
    send({ type: 'exit', id, code });
  });
}

function init(id: number, entry: Hosted, remote: RemoteInit): void {
  entry.ready = (async () => {
    const { outbox, ...rest } = remote;
    let counters: SharedArrayBuffer | undefined;
    if (outbox) {
      counters = new SharedArrayBuffer(COUNTERS_BYTES);
      entry.counters = new BigInt64Array(counters);
      entry.counters[ACKED] = BigInt(outbox.acked);
      entry.counters[CAP] = BigInt(outbox.cap);
    }
    try {
      const components = await Promise.all(rest.components.map(async (component) => ({ ...component, modules: await workers.coreModules(component.moduleSource) })));
      entry.worker.postMessage({
        type: 'init',
        init: { ...rest, components, outbox: outbox && counters && { dir: outbox.dir, capBytes: outbox.capBytes, fsync: outbox.fsync, counters } },
      });
    } catch (err) {
      const code = err instanceof WasmhostError ? err.code : undefined; // a module over its limits is the spec's error, not a crash
      send({ type: 'message', id, message: { type: 'startup-failed', error: (err as Error).message, code } });
    }
  })();
}

process.on('message', (message: HostToRunner) => {
  if (message.type === 'spawn') return spawn(message.id);
  const entry = hosted.get(message.id);
  if (!entry) return;
  switch (message.type) {
    case 'init':
      return init(message.id, entry, message.init);
    case 'post':
      void entry.ready.then(() => entry.worker.postMessage(message.message));
      return;
    case 'terminate':
      void entry.worker.terminate();
      return;
    case 'counters':
      if (entry.counters) {
        Atomics.store(entry.counters, ACKED, BigInt(message.acked));
        Atomics.store(entry.counters, CAP, BigInt(message.cap));
      }
  }
});

// A command writing telemetry for minutes posts no message meanwhile: relay its outbox progress anyway.
setInterval(() => {
  for (const [id, entry] of hosted) relayWritten(id, entry);
}, RELAY_MS).unref();
setInterval(() => send({ type: 'stats', rssBytes: process.memoryUsage.rss(), heapBytes: getHeapStatistics().total_heap_size }), STATS_MS).unref();
// The host is gone (or closed us): so are we. Our workers' outboxes stay on disk for the next host.
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal signals the whole process group: the host stops its workloads gracefully and
// then closes us; ending here first would fail their last calls.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
