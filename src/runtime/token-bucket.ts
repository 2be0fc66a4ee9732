/** Refill-per-second token bucket; the burst equals one second's budget. */
export class TokenBucket {
  #tokens: number;
  #last = performance.now();
  constructor(private readonly perSecond: number) {
    this.#tokens = perSecond;
  }
  take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.perSecond, this.#tokens + ((now - this.#last) / 1000) * this.perSecond);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
