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

/** A record read and not yet committed; its record is let go once it is acknowledged (or dropped). */
interface Entry {
  readonly end: number;
  record: OutboxRecord | undefined;
  state: 'queued' | 'sending' | 'acked';
}

interface Segment {
  readonly fd: number;
  readonly start: number;
  readonly next: number | undefined;
}

const RETRY_MS = 1000;
const READ_BYTES = 256 * 1024;
const NEWLINE = 0x0a;
const COMMIT_MS = 100;
/** Committed entries left at the front of #pending before they are cut off at once (one splice, not a shift each). */
const COMMITTED_KEPT = 1024;
/**
 * Bytes read from the outbox and not yet committed past which the reader reads no further (it reads on
 * as they are acknowledged). With edgeHub away the outboxes may hold up to their volume's cap (512 MB by
 * default) on disk; parsed, all of it used to sit in the host's heap. This is two reads' worth: well
 * over a window of small messages, and any one record (a record alone in memory is always read whole).
 */
const READ_AHEAD_BYTES = 2 * READ_BYTES;

/**
 * The send side of one instance's outbox, in the main thread: reads records in order from where the
 * last acknowledged one ended (`ack` file), sends them with a window, and moves the commit point over
 * contiguous acknowledgements only, so after a crash everything not acknowledged is sent again.
 */
export class OutboxReader {
  #readOffset: number;
  #commit: number;
  #partial: Buffer = Buffer.alloc(0);
  /** The segment being read, open until the reader moves past it (a segment file is 4 MB). */
  #segment: Segment | undefined;
  readonly #chunk = Buffer.allocUnsafe(READ_BYTES);
  readonly #pending: Entry[] = [];
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

  /** Its writer (the instance) still runs. */
  get writerOpen(): boolean {
    return !this.#writerClosed;
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
    this.#closeSegment();
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#commitTimer);
    this.#persist();
  }

  #read(): void {
    const written = Number(Atomics.load(this.counters, WRITTEN));
    while (this.#readOffset < written && (this.#readOffset - this.#commit < READ_AHEAD_BYTES || this.#pending.length === this.#head)) {
      const segment = this.#segment ?? this.#openSegment();
      if (!segment) return;
      const n = readSync(segment.fd, this.#chunk, 0, Math.min(written - this.#readOffset, this.#chunk.length), this.#readOffset - segment.start);
      if (n > 0) {
        this.#consume(this.#chunk.subarray(0, n));
        continue;
      }
      // The end of this segment while more is written: the writer rotated. The folder is listed again
      // only here, not per read.
      this.#closeSegment();
      const next = this.#openSegment();
      if (!next) return;
      if (next.start === segment.start) {
        if (next.next === undefined) return;
        this.#readOffset = next.next; // the rest of this segment is past its end: go on in the next
        this.#closeSegment();
      }
    }
  }

  /** Records from whole lines; a line cut by the end of a read waits in #partial for its rest. */
  #consume(chunk: Buffer): void {
    const data = this.#partial.length ? Buffer.concat([this.#partial, chunk]) : chunk;
    const base = this.#readOffset - this.#partial.length;
    let from = 0;
    let nl: number;
    while ((nl = data.indexOf(NEWLINE, from)) !== -1) {
      const end = base + nl + 1;
      try {
        this.#pending.push({ end, record: JSON.parse(data.toString('utf8', from, nl)) as OutboxRecord, state: 'queued' });
      } catch {
        this.#pending.push({ end, record: undefined, state: 'acked' }); // torn line: skip
      }
      from = nl + 1;
    }
    this.#partial = Buffer.from(data.subarray(from)); // a copy: #chunk is reused
    this.#readOffset += chunk.length;
  }

  /** Opens the segment holding #readOffset: the last one starting at or before it. */
  #openSegment(): Segment | undefined {
    const names = readdirSync(this.dir).filter((f) => f.endsWith('.seg')).sort();
    for (let i = names.length - 1; i >= 0; i--) {
      const start = segmentStart(names[i]!);
      if (start > this.#readOffset) continue;
      const next = names[i + 1];
      this.#segment = { fd: openSync(join(this.dir, names[i]!), 'r'), start, next: next ? segmentStart(next) : undefined };
      return this.#segment;
    }
    return undefined;
  }

  #closeSegment(): void {
    if (this.#segment) closeSync(this.#segment.fd);
    this.#segment = undefined;
  }

  #pump(): void {
    if (this.#retryTimer) return;
    const now = Date.now();
    let expired = 0;
    while (this.#inFlight < this.options.window && this.#cursor < this.#pending.length) {
      const entry = this.#pending[this.#cursor++]!;
      if (entry.state !== 'queued' || !entry.record) continue;
      if (now - entry.record.t > this.options.ttlMs) {
        acknowledge(entry);
        expired++;
        continue;
      }
      entry.state = 'sending';
      this.#inFlight++;
      this.options.send(entry.record).then(
        () => {
          this.#inFlight--;
          acknowledge(entry);
          this.options.delivered(1);
          this.#advance();
          this.poll(); // what the commit freed may be read now
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
    if (this.#head > COMMITTED_KEPT) {
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
      this.#closeSegment();
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

function acknowledge(entry: Entry): void {
  entry.state = 'acked';
  entry.record = undefined;
}
