/** Where a backoff starts and where it stops growing. */
export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** The wait before try `tries + 1`: the base, doubling with each try, up to the cap. Pure. */
export function backoffDelay(tries: number, { baseMs, maxMs }: Backoff): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(tries, 30));
}

/** `ms` spread by ±20%, so that many devices (or workloads) retrying after one outage do not arrive together. */
export function jittered(ms: number): number {
  return ms * (0.8 + Math.random() * 0.4);
}
