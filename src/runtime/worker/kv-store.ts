import { closeSync, existsSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { appendRecord, writeFully } from '../../durable-write.js';
import { join } from 'node:path';

export const KV_MAX_KEY_BYTES = 256;
export const KV_MAX_VALUE_BYTES = 64 * 1024;
export const KV_MAX_TOTAL_BYTES = 4 * 1024 * 1024;

type Record_ = { k: string; v?: string };

/** Whether a component's imports reach a kv store (edge:host/kv, wasi:keyvalue): only then does it need a kv directory. */
export function importsKv(imports: readonly string[]): boolean {
  return imports.some((name) => name === 'edge:host/kv' || name.startsWith('wasi:keyvalue/'));
}

/**
 * Durable per-workload key-value state: an append-only log of JSON lines, fsynced on each write and
 * compacted when mostly dead. A torn last line (power loss mid-write) is skipped on load.
 * Errors are returned as strings because they go straight back to the guest as `err`.
 */
export class KvStore {
  readonly #file: string;
  readonly #entries = new Map<string, Uint8Array>();
  #liveBytes = 0;
  #logBytes = 0;
  #fd: number;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.#file = join(dir, 'kv.log');
    const text = existsSync(this.#file) ? readFileSync(this.#file, 'utf8') : '';
    this.#load(text);
    this.#fd = openSync(this.#file, 'a');
    // A torn last line (power cut mid-write) is cut, or the next record would be glued to it and lost.
    if (text && !text.endsWith('\n')) ftruncateSync(this.#fd, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
  }

  get(key: string): Uint8Array | undefined {
    return this.#entries.get(key);
  }

  set(key: string, value: Uint8Array): void {
    checkKey(key);
    if (value.byteLength > KV_MAX_VALUE_BYTES) throw `value is ${value.byteLength} bytes; the limit is ${KV_MAX_VALUE_BYTES}`;
    const before = this.#entries.get(key);
    const total = this.#liveBytes - (before ? entrySize(key, before) : 0) + entrySize(key, value);
    if (total > KV_MAX_TOTAL_BYTES) throw `kv store full: ${KV_MAX_TOTAL_BYTES} bytes`;
    this.#append({ k: key, v: Buffer.from(value).toString('base64') });
    this.#put(key, Uint8Array.from(value));
  }

  delete(key: string): void {
    checkKey(key);
    if (!this.#entries.has(key)) return;
    this.#append({ k: key });
    this.#remove(key);
  }

  listKeys(prefix: string): string[] {
    return [...this.#entries.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  close(): void {
    closeSync(this.#fd);
  }

  /** Durable before it returns; a failed write (disk full) is an err for the guest and leaves the log as it was. */
  #append(record: Record_): void {
    const line = Buffer.from(JSON.stringify(record) + '\n');
    try {
      appendRecord(this.#fd, line, fstatSync(this.#fd).size, () => fdatasyncSync(this.#fd));
    } catch (err) {
      throw `kv write failed: ${(err as Error).message}`;
    }
    this.#logBytes += line.length;
    if (this.#logBytes > 2 * this.#liveBytes + 64 * 1024) this.#compact();
  }

  /** Rewrites the log with the live values only; if that fails, the old log stays (it is complete). */
  #compact(): void {
    const tmp = `${this.#file}.tmp`;
    let bytes = 0;
    try {
      const fd = openSync(tmp, 'w');
      try {
        for (const [k, v] of this.#entries) {
          const line = Buffer.from(JSON.stringify({ k, v: Buffer.from(v).toString('base64') }) + '\n');
          writeFully(fd, line);
          bytes += line.length;
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.#file);
    } catch {
      rmSync(tmp, { force: true });
      return;
    }
    closeSync(this.#fd);
    this.#fd = openSync(this.#file, 'a');
    this.#logBytes = bytes;
  }

  #load(text: string): void {
    for (const line of text.split('\n')) {
      if (!line) continue;
      this.#logBytes += Buffer.byteLength(line) + 1;
      let record: Record_;
      try {
        record = JSON.parse(line) as Record_;
      } catch {
        continue; // torn write at the end of the log
      }
      if (typeof record.v === 'string') this.#put(record.k, Buffer.from(record.v, 'base64'));
      else this.#remove(record.k);
    }
  }

  #put(key: string, value: Uint8Array): void {
    this.#remove(key);
    this.#entries.set(key, value);
    this.#liveBytes += entrySize(key, value);
  }

  #remove(key: string): void {
    const before = this.#entries.get(key);
    if (!before) return;
    this.#entries.delete(key);
    this.#liveBytes -= entrySize(key, before);
  }
}

function checkKey(key: string): void {
  const bytes = Buffer.byteLength(key);
  if (bytes === 0 || bytes > KV_MAX_KEY_BYTES) throw `key must be 1-${KV_MAX_KEY_BYTES} bytes`;
}

function entrySize(key: string, value: Uint8Array): number {
  return Buffer.byteLength(key) + value.byteLength;
}
