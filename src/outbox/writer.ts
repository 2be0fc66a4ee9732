import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fdatasyncSync, fstatSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { appendRecord } from '../durable-write.js';
import { join } from 'node:path';
import type { GuestMessage } from '../base/index.js';
import { ACKED, CAP, DIGEST_FILE, encodeRecord, SEGMENT_BYTES, segmentName, segmentStart, WRITTEN } from './format.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';
const INTERVAL_MS = 200;

/** Why `append` did not take a message; its text goes back to the guest as `err`. */
export class OutboxRefusal extends Error {
  constructor(readonly reason: 'backpressure' | 'io', message: string) {
    super(message);
  }
}

const backpressure = (unsent: number, cap: number) => new OutboxRefusal('backpressure', `backpressure: ${unsent} bytes wait to be sent (outbox cap ${cap})`);

/**
 * The write side of one instance's outbox, in its worker: `telemetry.send` returns ok only after the
 * record is written here (a crashed or killed process loses nothing written; power loss, at most the
 * fsync interval). Past `capBytes` unsent, appends fail with `backpressure`; a failed write (disk
 * full) fails that append only.
 */
export class OutboxWriter {
  #fd = -1;
  /** Global offset where the open segment starts, and where it ends (= everything written). */
  #start = 0;
  #segmentEnd = 0;
  #lastSync = 0;

  constructor(
    private readonly dir: string,
    digest: string,
    private readonly counters: BigInt64Array,
    private readonly capBytes: number,
    private readonly fsync: FsyncPolicy,
  ) {
    mkdirSync(dir, { recursive: true });
    const digestFile = join(dir, DIGEST_FILE);
    if (!existsSync(digestFile)) writeFileSync(digestFile, digest); // once per folder, not in every record
    const segments = readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
    const last = segments.at(-1);
    if (last) {
      this.#fd = openSync(join(dir, last), 'a');
      this.#start = segmentStart(last);
      this.#segmentEnd = this.#start + fstatSync(this.#fd).size;
    }
    Atomics.store(counters, WRITTEN, BigInt(this.#segmentEnd));
  }

  append(output: string, msg: GuestMessage): void {
    const unsent = Number(Atomics.load(this.counters, WRITTEN) - Atomics.load(this.counters, ACKED));
    const cap = this.#cap();
    // Checked before encoding too: a guest held back by backpressure should cost little per refused send.
    if (unsent >= cap) throw backpressure(unsent, cap);
    const line = Buffer.from(encodeRecord(randomUUID(), output, msg, Date.now()));
    if (unsent + line.length > cap) throw backpressure(unsent, cap);
    try {
      if (this.#fd < 0 || this.#segmentEnd - this.#start >= SEGMENT_BYTES) this.#rotate();
      appendRecord(this.#fd, line, this.#segmentEnd - this.#start, () => {
        if (this.fsync === 'always' || (this.fsync === 'interval' && Date.now() - this.#lastSync > INTERVAL_MS)) this.sync();
      });
    } catch (err) {
      throw new OutboxRefusal('io', `outbox write failed: ${(err as Error).message}`);
    }
    this.#segmentEnd += line.length;
    Atomics.store(this.counters, WRITTEN, BigInt(this.#segmentEnd));
  }

  /** The lower of this writer's own cap and what the workload's and the volume's caps leave it now. */
  #cap(): number {
    return this.counters.length > CAP ? Math.min(this.capBytes, Number(Atomics.load(this.counters, CAP))) : this.capBytes;
  }

  sync(): void {
    if (this.#fd < 0 || this.fsync === 'never') return;
    fdatasyncSync(this.#fd);
    this.#lastSync = Date.now();
  }

  close(): void {
    if (this.#fd < 0) return;
    this.sync();
    closeSync(this.#fd);
    this.#fd = -1;
  }

  #rotate(): void {
    if (this.#fd >= 0) {
      this.sync();
      closeSync(this.#fd);
    }
    this.#start = this.#segmentEnd;
    this.#fd = openSync(join(this.dir, segmentName(this.#segmentEnd)), 'a');
  }
}
