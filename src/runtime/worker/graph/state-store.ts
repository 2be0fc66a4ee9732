import type { KvStore } from '../kv-store.js';
import { compareHlc, isHlc, type HybridClock, type Hlc } from './hlc.js';

type StateStoreError = { tag: 'request-error'; val: string } | { tag: 'timeout' } | { tag: 'protocol' } | { tag: 'internal' };
type SetCondition = 'only-if-does-not-exist' | 'only-if-equal-or-does-not-exist' | 'unconditional';
interface Duration { seconds: bigint; nanos: number }

/** One key as it is kept in the workload's kv: the value, the version that wrote it, when it expires, its fence. */
interface Entry {
  readonly value: Uint8Array;
  readonly version: Hlc;
  /** Wall-clock milliseconds. */
  readonly expiresAt: number | undefined;
  readonly fence: Hlc | undefined;
}

/** Keys live in the workload's kv under this prefix, base64url-encoded (state-store keys are bytes). */
const PREFIX = 'aio-state/';
/** Decoded entries kept in memory (the kv keeps the bytes of every one anyway). */
const DECODED_ENTRIES = 256;
/** What fits the kv's key limit (256 bytes) once encoded. */
export const STATE_MAX_KEY_BYTES = 180;

function fail(error: StateStoreError): never {
  throw error;
}

const request = (message: string): never => fail({ tag: 'request-error', val: message });

/**
 * wasm-graph:processor's `state-store`, on the workload's durable kv (it survives restarts and updates):
 * versions are the workload's hybrid logical clock, `set` honours its conditions and expiry, and a
 * fencing token keeps a stale writer out: once a key is written with a token, writes must bring a token
 * at least as new. The worker runs one call at a time and the kv is synchronous, so each operation is atomic.
 */
export function stateStoreImports(kv: KvStore | undefined, clock: HybridClock, now: () => number = Date.now): Record<string, unknown> {
  const store = (): KvStore => kv ?? fail({ tag: 'request-error', val: 'the state store is not available: the host has no data directory for this workload' });

  const keyOf = (key: Uint8Array): string => {
    if (!(key instanceof Uint8Array) || key.byteLength === 0 || key.byteLength > STATE_MAX_KEY_BYTES) request(`keys must be 1-${STATE_MAX_KEY_BYTES} bytes`);
    return PREFIX + Buffer.from(key).toString('base64url');
  };

  // Decoded entries, kept: one store serves all of a graph's nodes and is the one writer of its keys, so they stay true.
  const decoded = new Map<string, Entry>();
  const read = (name: string): Entry | undefined => {
    let entry = decoded.get(name);
    if (!entry) {
      const raw = store().get(name);
      if (!raw) return undefined;
      entry = decode(raw);
      if (decoded.size >= DECODED_ENTRIES) decoded.delete(decoded.keys().next().value!);
      decoded.set(name, entry);
    }
    if (entry.expiresAt !== undefined && entry.expiresAt <= now()) return undefined;
    return entry;
  };

  const write = (name: string, entry: Entry): void => {
    decoded.delete(name);
    try {
      store().set(name, encode(entry));
    } catch (err) {
      request(typeof err === 'string' ? err : (err as Error).message);
    }
    decoded.set(name, entry);
  };

  /** A write to a fenced key must bring a token at least as new as the fence. */
  const checkFence = (current: Entry | undefined, token: unknown): Hlc | undefined => {
    if (token !== undefined && !isHlc(token)) request('invalid fencing token');
    const fence = current?.fence;
    if (fence && token === undefined) request('the key is fenced: a fencing token is required');
    if (fence && compareHlc(token as Hlc, fence) < 0) request('fencing token is older than the key\'s');
    return (token as Hlc | undefined) ?? fence;
  };

  const remove = (key: Uint8Array, token: unknown, onlyIf?: Uint8Array) => {
    const name = keyOf(key);
    const current = read(name);
    if (!current) return { response: 0n, version: undefined };
    checkFence(current, token);
    if (onlyIf && !Buffer.from(current.value).equals(Buffer.from(onlyIf))) return { response: -1n, version: current.version };
    decoded.delete(name);
    store().delete(name);
    return { response: 1n, version: clock.now() };
  };

  return {
    get(key: Uint8Array, _timeout: Duration | undefined) {
      const entry = read(keyOf(key));
      return { response: entry?.value, version: entry?.version };
    },
    set(key: Uint8Array, value: Uint8Array, _timeout: Duration | undefined, token: unknown, options: { conditions: SetCondition; expires: Duration | undefined }) {
      const name = keyOf(key);
      if (!(value instanceof Uint8Array)) request('value must be bytes');
      const current = read(name);
      const fence = checkFence(current, token);
      const condition = options?.conditions ?? 'unconditional';
      if (condition === 'only-if-does-not-exist' && current) return { response: false, version: current.version };
      if (condition === 'only-if-equal-or-does-not-exist' && current && !Buffer.from(current.value).equals(Buffer.from(value))) return { response: false, version: current.version };
      const expires = options?.expires;
      const version = clock.now();
      write(name, { value, version, fence, expiresAt: expires ? now() + Number(expires.seconds) * 1000 + Math.floor(expires.nanos / 1e6) : undefined });
      return { response: true, version };
    },
    del: (key: Uint8Array, token: unknown, _timeout: Duration | undefined) => remove(key, token),
    vdel: (key: Uint8Array, value: Uint8Array, token: unknown, _timeout: Duration | undefined) => remove(key, token, value),
  };
}

type StoredHlc = [string, number, string, string];
const storeHlc = (h: Hlc): StoredHlc => [h.timestamp.secs.toString(), h.timestamp.nanos, h.counter.toString(), h.nodeId];
const loadHlc = ([secs, nanos, counter, nodeId]: StoredHlc): Hlc => ({ timestamp: { secs: BigInt(secs), nanos }, counter: BigInt(counter), nodeId });

function encode(entry: Entry): Uint8Array {
  return Buffer.from(JSON.stringify({
    v: Buffer.from(entry.value).toString('base64'),
    ver: storeHlc(entry.version),
    ...(entry.expiresAt !== undefined && { exp: entry.expiresAt }),
    ...(entry.fence && { fence: storeHlc(entry.fence) }),
  }));
}

function decode(raw: Uint8Array): Entry {
  const record = JSON.parse(Buffer.from(raw).toString('utf8')) as { v: string; ver: StoredHlc; exp?: number; fence?: StoredHlc };
  return { value: Buffer.from(record.v, 'base64'), version: loadHlc(record.ver), expiresAt: record.exp, fence: record.fence && loadHlc(record.fence) };
}

