/**
 * Paces events to `perSecond`, letting a burst of `burst` through at once (GCRA, the virtual-scheduling
 * form of a token bucket): `holdMs` says how long to hold the next event so that the pace holds, and
 * counts it as sent then. Unlike a bucket that refuses, nothing is lost: the caller waits.
 */
export class Pacer {
  readonly #intervalMs: number;
  readonly #toleranceMs: number;
  /** When the next event is due if the pace were exact. */
  #due = 0;

  constructor(perSecond: number, burst = perSecond) {
    this.#intervalMs = 1000 / perSecond;
    this.#toleranceMs = (burst - 1) * this.#intervalMs;
  }

  holdMs(now = performance.now()): number {
    const due = Math.max(this.#due, now);
    this.#due = due + this.#intervalMs;
    return Math.max(0, due - now - this.#toleranceMs);
  }
}
