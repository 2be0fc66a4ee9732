import { randomUUID } from 'node:crypto';
import type { Logger } from '../ops/index.js';
import { bodyText, isTextContentType, type OutboundMessage, type TelemetrySink } from '../base/index.js';
import type { ModuleLink } from './module-link.js';

/**
 * Workload telemetry to edgeHub outputs: content type, utf-8 encoding for JSON and text, a messageId
 * (kept across retries, so duplicates can be removed downstream), the guest's properties plus
 * `workload` and `workloadDigest`. The outbox calls `sendAcked` (resolves on PUBACK, rejects while
 * there is no link, and it tries again later).
 */
export class EdgeSink implements TelemetrySink {
  #link: ModuleLink | undefined;
  /**
   * Rejecters of the sends in flight on the current link: when it goes they will never be acknowledged
   * (the SDK does not retry), so detach fails them. Each leaves the set when its send settles. (A
   * race against one shared never-settling "lost" promise did the same, but every send left a reaction
   * on that promise for as long as the link lived: ~100 bytes a message, 185 MB an hour in the soak.)
   */
  readonly #inFlight = new Set<(err: Error) => void>();
  #failed = 0;

  constructor(private readonly log: Logger) {}

  attach(link: ModuleLink): void {
    this.#link = link;
  }

  detach(): void {
    this.#link = undefined;
    const lost = new Error('edgeHub connection lost');
    for (const reject of this.#inFlight) reject(lost);
    this.#inFlight.clear();
  }

  /** Sends waiting for their acknowledgement (bounded by the outbox's window). */
  get pending(): number {
    return this.#inFlight.size;
  }

  /** Best effort, for telemetry that does not go through the outbox. */
  send(message: OutboundMessage): void {
    this.sendAcked({ ...message, messageId: randomUUID() }).catch((err: Error) => {
      if (this.#failed++ % 100 === 0) this.log.forWorkload(message.workload).warn(`send to output ${message.output} failed (${this.#failed} so far): ${err.message}`);
    });
  }

  sendAcked(m: OutboundMessage & { readonly messageId: string }): Promise<void> {
    const link = this.#link;
    if (!link) return Promise.reject(new Error('no edgeHub connection'));
    const contentType = m.msg.contentType;
    const text = isTextContentType(contentType);
    // String bodies: the SDK stringifies every message for a debug line, and Buffers cost ~1.3 ms at 64 KB (field notes).
    const body = text ? bodyText(m.msg.body) : Buffer.from(m.msg.body);
    const sent = link.sendOutput(m.output, body, {
      ...(contentType !== undefined && { contentType }),
      ...(text && { contentEncoding: 'utf-8' as const }),
      messageId: m.messageId,
      properties: [...m.msg.properties, ['workload', m.workload], ['workloadDigest', `sha256:${m.digest}`]],
    });
    return new Promise<void>((resolve, reject) => {
      this.#inFlight.add(reject);
      sent.then(
        () => {
          this.#inFlight.delete(reject);
          resolve();
        },
        (err: unknown) => {
          this.#inFlight.delete(reject);
          reject(err);
        },
      );
    });
  }
}
