import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { ACKED, segmentStart, WRITTEN, type OutboxRecord } from './format.js';

export interface ReaderOptions {
  /** Sends one record; resolves on the broker's acknowledgement (PUBACK), rejects to retry later. */
  send(record: OutboxRecord): Promise<void>;
  readonly window: number;
  readonly ttlMs: number;
  expired(count: number): void;
  delivered(count: number): void;
}

const RETRY_MS = 1000;
const COMMIT_MS = 100;

/**
 * The send side of one instance's outbox, in the main thread: reads records in order from where the
 * last acknowledged one ended (`ack` file), sends them with a window, and moves the commit point over
 * contiguous acknowledgements only, so after a crash everything not acknowledged is sent again.
 */
export class OutboxReader {
  #readOffset: number;
  #commit: number;
  #partial = '';
  readonly #pending: Array<{ end: number; record: OutboxRecord; state: 'queued' | 'sending' | 'acked' }> = [];
  #inFlight = 0;
  /** #pending[#head] is the oldest entry not yet committed (a deque: shifting a large array costs O(n)). */
  #head = 0;
  /** Index in #pending of the first entry not yet handed to `send` (all before it are sending or acked). */
  #cursor = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #commitTimer: NodeJS.Timeout | undefined;
  #writerClosed = false;
  #closed = false;

  constructor(readonly dir: string, private readonly counters: BigInt64Array, private readonly options: ReaderOptions) {
    let acked = 0;
    try {
      acked = Number(readFileSync(join(dir, 'ack'), 'utf8'));
    } catch {
      acked = 0;
    }
    this.#commit = acked;
    this.#readOffset = acked;
    Atomics.store(counters, ACKED, BigInt(acked));
  }

  /** The writer appended (or at start): read what is new and send. */
  poll(): void {
    if (this.#closed) return;
    this.#read();
    this.#pump();
  }

  /** The instance ended: once all is sent, the folder goes. */
  writerClosed(): void {
    this.#writerClosed = true;
    this.poll();
  }

  get unsent(): number {
    return Number(Atomics.load(this.counters, WRITTEN)) - this.#commit;
  }

  get done(): boolean {
    return this.#writerClosed && this.unsent <= 0 && this.#pending.length === this.#head;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#commitTimer);
    this.#persist();
  }

  #read(): void {
    const written = Number(Atomics.load(this.counters, WRITTEN));
    while (this.#readOffset < written) {
      const segment = this.#segmentFor(this.#readOffset);
      if (!segment) return;
      const fd = openSync(join(this.dir, segment.name), 'r');
      try {
        const buffer = Buffer.alloc(Math.min(written - this.#readOffset, 1024 * 1024));
        const n = readSync(fd, buffer, 0, buffer.length, this.#readOffset - segment.start);
        if (n === 0) {
          if (segment.next === undefined) return;
          this.#readOffset = segment.next; // end of this segment
          continue;
        }
        this.#consume(buffer.subarray(0, n));
      } finally {
        closeSync(fd);
      }
    }
  }

  #consume(chunk: Buffer): void {
    let text = this.#partial + chunk.toString('utf8');
    let base = this.#readOffset - Buffer.byteLength(this.#partial);
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      const line = text.slice(0, nl);
      const end = base + Buffer.byteLength(line) + 1;
      try {
        this.#pending.push({ end, record: JSON.parse(line) as OutboxRecord, state: 'queued' });
      } catch {
        this.#pending.push({ end, record: null as unknown as OutboxRecord, state: 'acked' }); // torn line: skip
      }
      base = end;
      text = text.slice(nl + 1);
    }
    this.#partial = text;
    this.#readOffset += chunk.length;
  }

  #segmentFor(offset: number): { name: string; start: number; next: number | undefined } | undefined {
    const names = readdirSync(this.dir).filter((f) => f.endsWith('.seg')).sort();
    for (let i = names.length - 1; i >= 0; i--) {
      const start = segmentStart(names[i]!);
      if (start <= offset) return { name: names[i]!, start, next: names[i + 1] ? segmentStart(names[i + 1]!) : undefined };
    }
    return undefined;
  }

  #pump(): void {
    if (this.#retryTimer) return;
    const now = Date.now();
    let expired = 0;
    while (this.#inFlight < this.options.window && this.#cursor < this.#pending.length) {
      const entry = this.#pending[this.#cursor++]!;
      if (entry.state !== 'queued') continue;
      if (now - entry.record.t > this.options.ttlMs) {
        entry.state = 'acked';
        expired++;
        continue;
      }
      entry.state = 'sending';
      this.#inFlight++;
      this.options.send(entry.record).then(
        () => {
          this.#inFlight--;
          entry.state = 'acked';
          this.options.delivered(1);
          this.#advance();
          this.#pump();
        },
        () => {
          this.#inFlight--;
          entry.state = 'queued';
          this.#cursor = Math.min(this.#cursor, this.#pending.indexOf(entry, this.#head)); // send it again, in order
          this.#retryTimer ??= setTimeout(() => {
            this.#retryTimer = undefined;
            this.#pump();
          }, RETRY_MS);
        },
      );
    }
    if (expired) {
      this.options.expired(expired);
      this.#advance();
    }
  }

  /** Moves the commit point over the acknowledged head of the queue. */
  #advance(): void {
    while (this.#pending[this.#head]?.state === 'acked') this.#commit = this.#pending[this.#head++]!.end;
    if (this.#head > 4096) {
      this.#pending.splice(0, this.#head);
      this.#cursor -= this.#head;
      this.#head = 0;
    }
    Atomics.store(this.counters, ACKED, BigInt(this.#commit));
    this.#commitTimer ??= setTimeout(() => {
      this.#commitTimer = undefined;
      this.#persist();
    }, COMMIT_MS);
  }

  #persist(): void {
    if (this.done) {
      rmSync(this.dir, { recursive: true, force: true });
      return;
    }
    const tmp = join(this.dir, 'ack.tmp');
    writeFileSync(tmp, String(this.#commit));
    renameSync(tmp, join(this.dir, 'ack'));
    const segments = readdirSync(this.dir).filter((f) => f.endsWith('.seg')).sort();
    segments.forEach((name, i) => {
      const next = segments[i + 1]; // a segment is done when the next one starts at or before the commit point
      if (next && segmentStart(next) <= this.#commit) rmSync(join(this.dir, name), { force: true });
    });
  }
}
