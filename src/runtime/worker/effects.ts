import type { Effect } from '../protocol.js';

type RefusedWhat = Extract<Effect, { type: 'refused' }>['what'];
type RefusedReason = Extract<Effect, { type: 'refused' }>['reason'];

const FLUSH_COUNT = 256;
const FLUSH_AGE_MS = 100;

/**
 * Collects what a guest does during a call so it crosses to the main thread in one postMessage.
 * Long calls (a command's `run`) flush by count and age so telemetry is not held back.
 */
export class EffectBuffer {
  #effects: Effect[] = [];
  #firstAt = 0;
  readonly #refused = new Map<string, Extract<Effect, { type: 'refused' }>>();
  #appended = 0;

  constructor(private readonly flushNow: (effects: Effect[]) => void) {}

  push(effect: Effect): void {
    const count = this.#effects.push(effect);
    if (count === 1) this.#firstAt = performance.now();
    // the age is looked at every 16th push: reading the clock on every send costs more than the rest
    else if (count >= FLUSH_COUNT || (count % 16 === 0 && performance.now() - this.#firstAt > FLUSH_AGE_MS)) this.flushNow(this.take());
  }

  /** Counts `count` refusals; refusals are summarised once per batch, not once per attempt. */
  refuse(what: RefusedWhat, reason: RefusedReason, detail: string, count = 1): void {
    const key = `${what}:${reason}`;
    const seen = this.#refused.get(key);
    if (seen) {
      seen.count += count;
      seen.detail = detail;
    } else {
      this.#refused.set(key, { type: 'refused', what, reason, detail, count });
    }
  }

  /** Counts a record written to the outbox; reported once per batch. */
  appended(): void {
    if (this.#appended++ === 0 && this.#effects.length === 0) this.#firstAt = performance.now();
    if (this.#appended % 16 === 0 && performance.now() - this.#firstAt > FLUSH_AGE_MS) this.flushNow(this.take()); // the clock every 16th
  }

  /** Sends what is collected now, between calls (a call's own effects go with its result). */
  flush(): void {
    const batch = this.take();
    if (batch.length) this.flushNow(batch);
  }

  take(): Effect[] {
    const out = this.#effects;
    this.#effects = [];
    if (this.#appended > 0) {
      out.push({ type: 'outbox', count: this.#appended });
      this.#appended = 0;
    }
    if (this.#refused.size > 0) {
      out.push(...this.#refused.values());
      this.#refused.clear();
    }
    return out;
  }
}
