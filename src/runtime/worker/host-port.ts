import { parentPort, type MessagePort } from 'node:worker_threads';

/** The channel to the host: the thread's parent port, or the one an inline worker hands over (see inline-worker.ts). */
let inline: MessagePort | undefined;

export function useInlinePort(port: MessagePort): void {
  inline = port;
}

export function hostPort(): MessagePort {
  const port = parentPort ?? inline;
  if (!port) throw new Error('the workload worker runs in a worker thread or behind an inline port');
  return port as MessagePort;
}
