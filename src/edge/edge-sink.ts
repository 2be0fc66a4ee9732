import { randomUUID } from 'node:crypto';
import type { Logger } from '../ops/index.js';
import type { OutboundMessage, TelemetrySink } from '../supervisor/index.js';
import type { ModuleLink } from './module-link.js';

/** Messages held while there is no link, or while SEND_WINDOW sends are already in flight. */
const MAX_WAITING = 10_000;
/** Sends in flight at once: enough to keep the MQTT pipe full (field notes: ~34k msg/s at 100). */
const SEND_WINDOW = 100;
const MAX_TRIES = 3;

/**
 * Workload telemetry to edgeHub outputs: content type, utf-8 encoding for JSON and text, a messageId
 * (so duplicates from SDK retries can be removed downstream), the guest's properties plus `workload`
 * and `workloadDigest`.
 */
export class EdgeSink implements TelemetrySink {
  #link: ModuleLink | undefined;
  #waiting: OutboundMessage[] = [];
  #inFlight = 0;
  readonly #tries = new WeakMap<OutboundMessage, number>();
  #failed = 0;
  #overflowed = 0;

  constructor(private readonly log: Logger) {}

  get failed(): number {
    return this.#failed;
  }

  send(message: OutboundMessage): void {
    if (this.#link && this.#inFlight < SEND_WINDOW && this.#waiting.length === 0) return this.#send(this.#link, message);
    if (this.#waiting.length >= MAX_WAITING) {
      this.#waiting.shift();
      if (this.#overflowed++ % 1000 === 0) this.log.warn(`edgeHub not keeping up or not connected: dropped ${this.#overflowed} messages over the ${MAX_WAITING}-message wait queue`);
    }
    this.#waiting.push(message);
  }

  attach(link: ModuleLink): void {
    this.#link = link;
    this.#drain();
  }

  /** Resolves once every accepted message is sent (or after `timeoutMs`); for shutdown. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#waiting.length > 0 || this.#inFlight > 0) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  detach(): void {
    this.#link = undefined;
  }

  #send(link: ModuleLink, m: OutboundMessage): void {
    const contentType = m.msg.contentType;
    const text = contentType !== undefined && /^(application\/json|text\/)/.test(contentType);
    // String bodies: the SDK stringifies every message for a debug line, and Buffers cost ~1.3 ms at 64 KB (field notes).
    const body = text ? Buffer.from(m.msg.body).toString('utf8') : Buffer.from(m.msg.body);
    this.#inFlight++;
    link
      .sendOutput(m.output, body, {
        ...(contentType !== undefined && { contentType }),
        ...(text && { contentEncoding: 'utf-8' as const }),
        messageId: randomUUID(),
        properties: [...m.msg.properties, ['workload', m.workload], ['workloadDigest', `sha256:${m.digest}`]],
      })
      .catch((err: Error) => {
        // The SDK does not retry (EdgeConnection owns reconnecting): stop using this link and send the
        // message again on the next one, ahead of newer ones, a few times at most.
        if (this.#link === link) this.#link = undefined;
        const tries = (this.#tries.get(m) ?? 0) + 1;
        if (tries < MAX_TRIES && this.#waiting.length < MAX_WAITING) {
          this.#tries.set(m, tries);
          this.#waiting.unshift(m);
        } else if (this.#failed++ % 100 === 0) {
          this.log.forWorkload(m.workload).warn(`send to output ${m.output} failed ${tries} times, message dropped (${this.#failed} so far): ${err.message}`);
        }
      })
      .finally(() => {
        this.#inFlight--;
        this.#drain();
      });
  }

  #drain(): void {
    let next: OutboundMessage | undefined;
    while (this.#link && this.#inFlight < SEND_WINDOW && (next = this.#waiting.shift())) this.#send(this.#link, next);
  }
}
