/**
 * A hybrid logical clock (wasm-graph:processor's `hybrid-logical-clock`): wall time, a counter that
 * orders events within one wall-clock reading, and the node that made it. Each graph workload has one;
 * it stamps messages at its source and versions state-store writes.
 */
export interface Hlc {
  readonly timestamp: { readonly secs: bigint; readonly nanos: number };
  readonly counter: bigint;
  readonly nodeId: string;
}

const NANOS_PER_MS = 1_000_000n;

export function hlcNanos(hlc: Hlc): bigint {
  return hlc.timestamp.secs * 1_000_000_000n + BigInt(hlc.timestamp.nanos);
}

/** Orders by time, then counter, then node (a total order, as HLCs are compared). */
export function compareHlc(a: Hlc, b: Hlc): number {
  const dt = hlcNanos(a) - hlcNanos(b);
  if (dt !== 0n) return dt < 0n ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0;
}

/** Checks an HLC a guest handed in: the shape jco gives, numbers in range. */
export function isHlc(value: unknown): value is Hlc {
  const v = value as Hlc | undefined;
  return typeof v === 'object' && v !== null && typeof v.counter === 'bigint' && typeof v.nodeId === 'string'
    && typeof v.timestamp === 'object' && v.timestamp !== null && typeof v.timestamp.secs === 'bigint' && Number.isInteger(v.timestamp.nanos)
    && v.timestamp.nanos >= 0 && v.timestamp.nanos < 1e9 && v.timestamp.secs >= 0n;
}

export class HybridClock {
  #lastNanos = 0n;
  #counter = 0n;

  constructor(readonly nodeId: string, private readonly wallMs: () => number = Date.now) {}

  /** A timestamp after every one this clock made before (wall time, or the last one's time with the counter up). */
  now(): Hlc {
    const wall = BigInt(Math.floor(this.wallMs())) * NANOS_PER_MS;
    if (wall > this.#lastNanos) {
      this.#lastNanos = wall;
      this.#counter = 0n;
    } else {
      this.#counter++;
    }
    return { timestamp: { secs: this.#lastNanos / 1_000_000_000n, nanos: Number(this.#lastNanos % 1_000_000_000n) }, counter: this.#counter, nodeId: this.nodeId };
  }

  /** The wall clock in nanoseconds: windows close when it passes their timestamp. */
  wallNanos(): bigint {
    return BigInt(Math.floor(this.wallMs())) * NANOS_PER_MS;
  }
}
