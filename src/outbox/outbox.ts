import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../ops/index.js';
import type { OutboundMessage } from '../base/index.js';
import type { FsyncPolicy } from './writer.js';
import { OutboxReader } from './reader.js';
import { CAP, COUNTERS_BYTES, DIGEST_FILE, recordBody, segmentStart, WRITTEN, type OutboxRecord } from './format.js';

export interface OutboxSettings {
  readonly dir: string;
  /** Unsent bytes per workload (all its instances, this run's and earlier runs') before `send` answers `backpressure`. */
  readonly capBytes: number;
  /** Unsent bytes over every workload: the volume's share for telemetry waiting on edgeHub. */
  readonly totalCapBytes: number;
  /** Like edgeHub's timeToLiveSecs: older messages are dropped, counted and reported. */
  readonly ttlMs: number;
  readonly fsync: FsyncPolicy;
  readonly window: number;
}

/** What a workload's worker needs to write its outbox. */
export interface OutboxHandle {
  readonly dir: string;
  readonly counters: SharedArrayBuffer;
  readonly capBytes: number;
  readonly fsync: FsyncPolicy;
}

/** Sends a message and resolves on the broker's acknowledgement. */
export type AckingSend = (message: OutboundMessage & { readonly messageId: string }) => Promise<void>;

/**
 * Telemetry that is never lost: one append-only outbox per workload instance on the data volume,
 * written by the instance's worker before `telemetry.send` returns ok, read and sent here, removed only
 * once acknowledged; replayed after a restart. The outbox owns `<data>/outbox`.
 */
export class Outbox {
  readonly #readers = new Map<string, { reader: OutboxReader; workload: string; counters: BigInt64Array }>();
  readonly #delivered = new Map<string, number>();
  readonly #expired = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly settings: OutboxSettings, private readonly send: AckingSend, private readonly log: Logger) {
    mkdirSync(settings.dir, { recursive: true });
    this.#timer = setInterval(() => this.#pollAll(), 100).unref();
  }

  /** Replays what earlier runs left unsent (their writers are gone). */
  recover(): number {
    let count = 0;
    for (const workload of readdirSync(this.settings.dir)) {
      for (const instance of readdirSync(join(this.settings.dir, workload))) {
        const dir = join(this.settings.dir, workload, instance);
        const counters = new SharedArrayBuffer(COUNTERS_BYTES);
        new BigInt64Array(counters)[WRITTEN] = BigInt(writtenOnDisk(dir)); // its writer is gone: all of it is there
        const { reader } = this.#start(workload, dir, counters);
        count += Math.max(0, reader.unsent);
        reader.writerClosed();
      }
    }
    if (count) this.log.info(`outbox: replaying ${count} unsent bytes from before the restart`);
    return count;
  }

  /** A new instance of `workload` starts: its own outbox folder. */
  open(workload: string): OutboxHandle {
    const dir = join(this.settings.dir, workload, `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`);
    mkdirSync(dir, { recursive: true });
    const counters = new SharedArrayBuffer(COUNTERS_BYTES);
    this.#start(workload, dir, counters);
    this.#rebalance();
    return { dir, counters, capBytes: this.settings.capBytes, fsync: this.settings.fsync };
  }

  notify(dir: string): void {
    this.#readers.get(dir)?.reader.poll();
  }

  /**
   * The instance ended: its outbox is removed once everything in it is sent. What its writer wrote is
   * all on disk, even where the counter did not hear of it (a runner process that died mid-relay).
   */
  writerClosed(dir: string): void {
    const entry = this.#readers.get(dir);
    if (!entry) return;
    const onDisk = BigInt(writtenOnDisk(dir));
    if (onDisk > Atomics.load(entry.counters, WRITTEN)) Atomics.store(entry.counters, WRITTEN, onDisk);
    entry.reader.writerClosed();
  }

  delivered(workload: string): number {
    return this.#delivered.get(workload) ?? 0;
  }

  expired(workload: string): number {
    return this.#expired.get(workload) ?? 0;
  }

  /** Bytes written and not yet acknowledged, over the workload's outboxes (every instance's). */
  unsentBytes(workload: string): number {
    let bytes = 0;
    for (const entry of this.#readers.values()) if (entry.workload === workload) bytes += Math.max(0, entry.reader.unsent);
    return bytes;
  }

  /** Resolves true once every outbox is empty, or false after `timeoutMs` (shutdown). */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.#pollAll();
      if ([...this.#readers.values()].every(({ reader }) => reader.unsent <= 0)) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    clearInterval(this.#timer);
    for (const { reader } of this.#readers.values()) reader.close();
  }

  #start(workload: string, dir: string, counters: SharedArrayBuffer): { reader: OutboxReader } {
    const count = (map: Map<string, number>) => (n: number) => void map.set(workload, (map.get(workload) ?? 0) + n);
    let digest: string | undefined; // read at the first send: the writer makes the file when it starts
    const reader = new OutboxReader(dir, new BigInt64Array(counters), {
      window: this.settings.window,
      ttlMs: this.settings.ttlMs,
      send: (record) => this.send(toMessage(workload, (digest ??= folderDigest(dir)), record)),
      delivered: count(this.#delivered),
      expired: (n) => {
        count(this.#expired)(n);
        this.log.forWorkload(workload).warn(`outbox: ${n} message(s) older than the time to live dropped`);
      },
    });
    this.#readers.set(dir, { reader, workload, counters: new BigInt64Array(counters) });
    return { reader };
  }

  #pollAll(): void {
    for (const [dir, { reader }] of this.#readers) {
      reader.poll();
      if (reader.done) {
        reader.close();
        this.#readers.delete(dir);
      }
    }
    this.#rebalance();
  }

  /**
   * Tells each running writer how far it may fill: up to the workload's cap counting what its other
   * outboxes (earlier instances, earlier runs) still hold, and up to the volume's cap counting every
   * workload's. Recomputed at every open and every poll (100 ms): a restart never gets a fresh cap.
   */
  #rebalance(): void {
    let total = 0;
    const byWorkload = new Map<string, number>();
    for (const { reader, workload } of this.#readers.values()) {
      const unsent = Math.max(0, reader.unsent);
      total += unsent;
      byWorkload.set(workload, (byWorkload.get(workload) ?? 0) + unsent);
    }
    for (const { reader, workload, counters } of this.#readers.values()) {
      if (!reader.writerOpen) continue;
      const own = Math.max(0, reader.unsent);
      const allowance = Math.min(this.settings.capBytes - (byWorkload.get(workload)! - own), this.settings.totalCapBytes - (total - own));
      Atomics.store(counters, CAP, BigInt(Math.max(0, allowance)));
    }
  }
}

function writtenOnDisk(dir: string): number {
  const last = readdirSync(dir).filter((f) => f.endsWith('.seg')).sort().at(-1);
  return last ? segmentStart(last) + statSync(join(dir, last)).size : 0;
}

function toMessage(workload: string, digest: string, record: OutboxRecord): OutboundMessage & { messageId: string } {
  return {
    workload,
    digest: record.d ?? digest,
    output: record.o,
    messageId: record.i,
    msg: { body: recordBody(record), contentType: record.c ?? undefined, properties: record.p },
  };
}

/** The digest its writer recorded for an outbox folder ('' if it never got that far). */
function folderDigest(dir: string): string {
  try {
    return readFileSync(join(dir, DIGEST_FILE), 'utf8');
  } catch {
    return '';
  }
}
