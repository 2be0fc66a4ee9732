import { EventEmitter } from 'node:events';
import { ACKED, CAP, WRITTEN } from '../../outbox/format.js';
import type { HostToWorker } from '../protocol.js';
import { RUNNER_CRASHED, type WorkerPort } from '../worker-port.js';
import type { HostToRunner, RunnerToHost } from './protocol.js';

/**
 * A workload worker in the runner process, seen from the host: it behaves as node's Worker does for a
 * WorkloadInstance ('message', 'error', 'exit'; terminate), and relays the outbox counters that a
 * thread of the host would have shared through memory.
 */
export class RemoteWorker extends EventEmitter implements WorkerPort {
  readonly stdout = null;
  readonly stderr = null;
  #counters: BigInt64Array | undefined;
  #sentAcked = -1n;
  #sentCap = -1n;
  #exited = false;

  constructor(readonly id: number, private readonly send: (message: HostToRunner) => void) {
    super();
  }

  get exited(): boolean {
    return this.#exited;
  }

  postMessage(message: HostToWorker): void {
    if (this.#exited) return;
    if (message.type !== 'init') return this.send({ type: 'post', id: this.id, message });
    const { outbox, components, ...rest } = message.init;
    const init = { ...rest, components: components.map(({ modules: _compiledThere, ...component }) => component) };
    if (outbox) this.#counters = new BigInt64Array(outbox.counters);
    const counters = this.#counters && { acked: Number(this.#counters[ACKED]), cap: Number(this.#counters[CAP]) };
    this.send({
      type: 'init',
      id: this.id,
      init: { ...init, outbox: outbox && counters && { dir: outbox.dir, capBytes: outbox.capBytes, fsync: outbox.fsync, ...counters } },
    });
  }

  async terminate(): Promise<void> {
    if (this.#exited) return;
    // Not events.once: it would reject on the 'error' a dying runner emits first.
    const exited = new Promise<void>((resolve) => this.once('exit', () => resolve()));
    this.send({ type: 'terminate', id: this.id });
    await exited;
  }

  /** Passes the reader's progress and the writer's allowance on, when they moved. */
  relayCounters(): void {
    const counters = this.#counters;
    if (!counters || this.#exited) return;
    const acked = Atomics.load(counters, ACKED);
    const cap = Atomics.load(counters, CAP);
    if (acked === this.#sentAcked && cap === this.#sentCap) return;
    this.#sentAcked = acked;
    this.#sentCap = cap;
    this.send({ type: 'counters', id: this.id, acked: Number(acked), cap: Number(cap) });
  }

  received(message: Exclude<RunnerToHost, { type: 'stats' }>): void {
    if (this.#exited) return;
    switch (message.type) {
      case 'message':
        return void this.emit('message', message.message);
      case 'written':
        if (this.#counters && BigInt(message.written) > Atomics.load(this.#counters, WRITTEN)) Atomics.store(this.#counters, WRITTEN, BigInt(message.written));
        return;
      case 'error':
        return void this.emit('error', Object.assign(new Error(message.message), { code: message.code }));
      case 'exit':
        return this.#exit(message.code);
    }
  }

  /** The runner process is gone, and this worker with it. */
  runnerDied(how: string): void {
    if (this.#exited) return;
    if (this.listenerCount('error') > 0) this.emit('error', Object.assign(new Error(`the runner process ended (${how})`), { code: RUNNER_CRASHED }));
    this.#exit(1);
  }

  #exit(code: number): void {
    this.#exited = true;
    this.emit('exit', code);
  }
}
