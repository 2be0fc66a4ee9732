import { EventEmitter } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import type { HostToWorker } from './protocol.js';
import type { WorkerPort } from './worker-port.js';

/**
 * A workload's worker code run on this thread, behind a message channel (`wasmhost run` of a command):
 * no thread to start and no second load of preview2-shim, ~100 ms of a short run. The price: nothing
 * can stop a guest mid-call (terminate only ends the channel), which a command's `run` never needed
 * (it has no deadline) and Ctrl-C still ends the process. One per process: the worker code keeps its
 * state in its module.
 */
export class InlineWorker extends EventEmitter implements WorkerPort {
  readonly stdout = null;
  readonly stderr = null;
  readonly #port;
  #exited = false;

  constructor() {
    super();
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    port1.on('message', (message) => this.emit('message', message));
    // The worker code closes its side when told to close: that is this worker's exit.
    port1.once('close', () => this.#exit());
    void (async () => {
      const { useInlinePort } = await import('./worker/host-port.js');
      useInlinePort(port2);
      await import('./worker/main.js');
    })().catch((err: Error) => {
      this.emit('error', err);
      this.#exit();
    });
  }

  postMessage(message: HostToWorker): void {
    if (!this.#exited) this.#port.postMessage(message);
  }

  async terminate(): Promise<number> {
    this.#port.close();
    return 0;
  }

  #exit(): void {
    if (this.#exited) return;
    this.#exited = true;
    this.emit('exit', 0);
  }
}
