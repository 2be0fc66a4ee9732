const BUCKET_MS = 1000;
const BUCKETS = 10;

/**
 * Time a workload spent inside guest calls over the last ten seconds, as a percentage of one core (a
 * worker runs one guest call at a time on its own thread): what edgeAgent reports as a module's
 * used_cpu_percent, measured where wasmhost can see it.
 */
export class BusyWindow {
  readonly #buckets = new Float64Array(BUCKETS);
  #current = 0;

  add(ms: number, now: number): void {
    this.#advance(now);
    this.#buckets[this.#current % BUCKETS]! += ms;
  }

  percent(now: number): number {
    this.#advance(now);
    let total = 0;
    for (const ms of this.#buckets) total += ms;
    return Math.min(100, (total / (BUCKET_MS * BUCKETS)) * 100);
  }

  /** Clears the buckets the clock moved past since the last use. */
  #advance(now: number): void {
    const bucket = Math.floor(now / BUCKET_MS);
    if (bucket - this.#current >= BUCKETS) this.#buckets.fill(0);
    else for (let b = this.#current + 1; b <= bucket; b++) this.#buckets[b % BUCKETS] = 0;
    this.#current = Math.max(this.#current, bucket);
  }
}
