import type { LogLevel } from '../base/index.js';

export interface LogRecord {
  readonly time: number;
  readonly level: LogLevel;
  readonly text: string;
}

/** A workload's own log lines (guest log calls, stderr, host events about it), bounded by count. */
export class LogRing {
  readonly #records: LogRecord[] = [];
  #start = 0;

  constructor(private readonly capacity = 1000) {}

  push(level: LogLevel, text: string, time = Date.now()): void {
    const record = { time, level, text };
    if (this.#records.length < this.capacity) this.#records.push(record);
    else {
      this.#records[this.#start] = record;
      this.#start = (this.#start + 1) % this.capacity;
    }
  }

  /** Oldest first. */
  toArray(): LogRecord[] {
    return [...this.#records.slice(this.#start), ...this.#records.slice(0, this.#start)];
  }
}
