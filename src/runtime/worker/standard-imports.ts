import type { WorkerInit } from '../protocol.js';
import type { KvStore } from './kv-store.js';
import type { GuestLog } from './guest-log.js';
import { configImports } from './host-api.js';

/**
 * The standard WASI interfaces wasmCloud and Spin components import (design.md "Portable guests"),
 * served from the same state as `edge:host`: `wasi:keyvalue` on the workload's kv (bucket `default`),
 * `wasi:config/store` on its config, `wasi:logging` on its log. jco names imports without versions, so
 * one implementation serves every version with the same shape (wasi:config's three).
 */
export function standardImports(init: WorkerInit, kv: KvStore | undefined, log: GuestLog): Record<string, unknown> {
  return {
    ...keyvalueImports(kv),
    'wasi:config/store': configImports(init),
    'wasi:logging/logging': {
      log(level: string, context: string, message: string): void {
        log(LOGGING_LEVELS[level] ?? 'info', context ? `${context}: ${message}` : message);
      },
    },
  };
}

/** wasi:logging has `critical`; the workload log's highest level is `error`. */
const LOGGING_LEVELS: Record<string, Parameters<GuestLog>[0]> = { trace: 'trace', debug: 'debug', info: 'info', warn: 'warn', error: 'error', critical: 'error' };

/** The one bucket: a workload's kv is its own, so there is nothing else to name. */
const BUCKET = 'default';
/** Keys per list-keys page; the cursor is the offset of the next page in key order. */
const PAGE_KEYS = 1000;
const MAX_U64 = (1n << 64n) - 1n;

type KvError = { tag: 'no-such-store' } | { tag: 'access-denied' } | { tag: 'other'; val: string };

/** jco turns what an import throws into the guest's `err`: the error variant, as the WIT names it. */
function fail(error: KvError): never {
  throw error;
}

/** KvStore refuses with strings (edge:host/kv's error type); here they become `other`. */
function guarded<T>(op: () => T): T {
  try {
    return op();
  } catch (err) {
    fail({ tag: 'other', val: typeof err === 'string' ? err : (err as Error).message });
  }
}

function keyvalueImports(kv: KvStore | undefined): Record<string, unknown> {
  class Bucket {
    get(key: string): Uint8Array | undefined {
      return store().get(key);
    }

    set(key: string, value: Uint8Array): void {
      guarded(() => store().set(key, value));
    }

    delete(key: string): void {
      guarded(() => store().delete(key));
    }

    exists(key: string): boolean {
      return store().get(key) !== undefined;
    }

    listKeys(cursor: bigint | undefined): { keys: string[]; cursor: bigint | undefined } {
      const all = store().listKeys('');
      const start = Number(cursor ?? 0n);
      const keys = all.slice(start, start + PAGE_KEYS);
      return { keys, cursor: start + PAGE_KEYS < all.length ? BigInt(start + PAGE_KEYS) : undefined };
    }
  }
  const store = (): KvStore => kv ?? fail({ tag: 'other', val: 'kv is not available: the host has no data directory for this workload' });
  const checked = (bucket: unknown): Bucket => (bucket instanceof Bucket ? bucket : fail({ tag: 'other', val: 'not a bucket' }));
  return {
    'wasi:keyvalue/store': {
      Bucket,
      open(identifier: string): Bucket {
        if (identifier !== BUCKET && identifier !== '') fail({ tag: 'no-such-store' });
        return new Bucket();
      },
    },
    'wasi:keyvalue/atomics': {
      /**
       * The value is kept as a decimal string ("42"), readable through edge:host/kv as well. The worker
       * runs one guest call at a time and KvStore is synchronous: nothing can come between the read and
       * the write.
       */
      increment(bucket: unknown, key: string, delta: bigint): bigint {
        checked(bucket);
        const before = store().get(key);
        const text = before === undefined ? '0' : Buffer.from(before).toString('utf8');
        if (!/^\d{1,20}$/.test(text)) fail({ tag: 'other', val: `the value of ${JSON.stringify(key)} is not a decimal number` });
        const next = BigInt(text) + delta;
        if (next > MAX_U64) fail({ tag: 'other', val: `incrementing ${JSON.stringify(key)} would overflow u64` });
        guarded(() => store().set(key, Buffer.from(next.toString())));
        return next;
      },
    },
    'wasi:keyvalue/batch': {
      getMany(bucket: unknown, keys: string[]): Array<[string, Uint8Array] | undefined> {
        checked(bucket);
        return keys.map((key) => {
          const value = store().get(key);
          return value === undefined ? undefined : [key, value];
        });
      },
      setMany(bucket: unknown, entries: Array<[string, Uint8Array]>): void {
        checked(bucket);
        for (const [key, value] of entries) guarded(() => store().set(key, value));
      },
      deleteMany(bucket: unknown, keys: string[]): void {
        checked(bucket);
        for (const key of keys) guarded(() => store().delete(key));
      },
    },
  };
}
