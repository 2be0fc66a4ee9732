import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { backoffDelay, jittered } from '../base/index.js';
import { isWasmhostError, WasmhostError } from '../errors.js';
import { replaceFile } from '../replace-file.js';
import { isPlainObject } from '../spec/index.js';
import { BlobStore } from './blob-store.js';
import { sha256Hex } from './capped.js';
import { expectOk, FetchError, readCapped, request } from './download.js';
import { readFileSource } from './file-source.js';
import { RegistryClient } from './oci.js';
import { credentialsFor } from './registry-auth.js';
import { parseSource, redact } from './source.js';

export interface FetchedBlob {
  readonly bytes: Uint8Array;
  /** Lowercase hex sha256 of `bytes`. */
  readonly digest: string;
}

export interface FetchSettings {
  /** Blobs (and the source index) live under `<dataDir>/blobs`. */
  readonly dataDir: string;
  /** Relative `file://` paths resolve against this folder... */
  readonly fileBase: string;
  /** ...and a file must lie inside one of these. */
  readonly fileRoots: readonly string[];
  readonly maxBytes: number;
  readonly allowHttp: boolean;
  readonly registryAuthFile?: string | undefined;
  readonly timeoutMs?: number;
  readonly retry?: { readonly attempts: number; readonly baseMs: number };
}

/** Called before each retry, so the workload's status can say what is going on. */
export type RetryListener = (attempt: number, error: Error, delayMs: number) => void;

const DEFAULT_RETRY = { attempts: 4, baseMs: 500 };

/**
 * Where bytes come from: `file://`, `http(s)://` and `oci://` sources, checked against their pinned
 * sha256 (a mismatch is a hard error and nothing is cached), kept in a content-addressed store on the
 * data volume so that pinned workloads start without any network. Owns `<data>/blobs`.
 */
export class Fetcher {
  readonly store: BlobStore;
  readonly #inFlight = new Map<string, Promise<FetchedBlob>>();
  readonly #indexFile: string;
  #indexUpdates: Promise<void> = Promise.resolve();

  constructor(private readonly settings: FetchSettings) {
    this.store = new BlobStore(join(settings.dataDir, 'blobs'));
    this.#indexFile = join(settings.dataDir, 'blobs', 'sources.json');
  }

  /** Concurrent fetches of one source and pin are done once. */
  fetch(source: string, sha256: string | undefined, onRetry?: RetryListener): Promise<FetchedBlob> {
    const key = `${source}\n${sha256 ?? ''}`;
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = this.#fetch(source, sha256, onRetry).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }

  /** Removes cached blobs no workload needs (`keep`), sparing fetches in progress. */
  async collectGarbage(keep: ReadonlySet<string>): Promise<string[]> {
    return this.store.collect(keep);
  }

  async #fetch(source: string, pinned: string | undefined, onRetry?: RetryListener): Promise<FetchedBlob> {
    if (pinned) {
      const cached = await this.store.get(pinned);
      if (cached) return { bytes: cached, digest: pinned }; // offline start: no network for a pinned, cached blob
    }
    const parsed = parseSource(source);
    if (parsed.kind === 'file') {
      const blob = await readFileSource(source, { base: this.settings.fileBase, roots: this.settings.fileRoots, maxBytes: this.settings.maxBytes });
      return checkPin(blob, pinned, source);
    }
    try {
      const blob = await this.#withRetries(onRetry, () => (parsed.kind === 'http' ? this.#http(parsed.url, pinned) : this.#oci(parsed.registry, parsed.repository, parsed.reference, pinned)));
      await this.#remember(source, blob.digest);
      return blob;
    } catch (err) {
      // Unpinned and unreachable: the last version fetched from this source, if it is still cached.
      const fallback = !pinned && isWasmhostError(err, 'WH_ERR_FETCH_FAILED') ? await this.#lastKnown(source) : undefined;
      if (fallback) return fallback;
      throw err;
    }
  }

  async #http(url: URL, pinned: string | undefined): Promise<FetchedBlob> {
    if (url.protocol === 'http:' && !this.settings.allowHttp) {
      throw new WasmhostError('WH_ERR_SOURCE_NOT_ALLOWED', `plain http source ${redact(url.href)} refused (set WASMHOST_ALLOW_HTTP=true to allow)`);
    }
    const what = redact(url.href);
    const response = await expectOk(await request(url.href, { timeoutMs: this.#timeout, allowHttp: this.settings.allowHttp }), what);
    const blob = checkPin(await readCapped(response, this.settings.maxBytes, what), pinned, what);
    await this.store.put(blob.digest, blob.bytes);
    return blob;
  }

  async #oci(registry: string, repository: string, reference: string, pinned: string | undefined): Promise<FetchedBlob> {
    const client = new RegistryClient(registry, {
      credentials: credentialsFor(registry, this.settings.registryAuthFile),
      allowHttp: this.settings.allowHttp,
      timeoutMs: this.#timeout,
    });
    const layer = await client.resolveLayer(repository, reference);
    const what = `oci://${registry}/${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
    if (pinned && layer.digest !== pinned) {
      throw new WasmhostError('WH_ERR_DIGEST_MISMATCH', `${what} has wasm layer sha256 ${layer.digest}, expected ${pinned}`);
    }
    if (layer.size > this.settings.maxBytes) {
      throw new WasmhostError('WH_ERR_BLOB_TOO_LARGE', `${what} is ${layer.size} bytes; the limit is ${this.settings.maxBytes} (WASMHOST_MAX_BLOB_MB)`);
    }
    const cached = await this.store.get(layer.digest);
    if (cached) return { bytes: cached, digest: layer.digest };
    const bytes = await client.blob(repository, layer.digest, this.settings.maxBytes);
    await this.store.put(layer.digest, bytes);
    return { bytes, digest: layer.digest };
  }

  async #withRetries<T>(onRetry: RetryListener | undefined, attempt: () => Promise<T>): Promise<T> {
    const { attempts, baseMs } = this.settings.retry ?? DEFAULT_RETRY;
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof FetchError) || !err.retryable || n >= attempts) throw err;
        const delay = Math.round(jittered(backoffDelay(n - 1, { baseMs, maxMs: Infinity })));
        onRetry?.(n, err, delay);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  get #timeout(): number {
    return this.settings.timeoutMs ?? 60_000;
  }

  /**
   * The index maps a hash of each source (never the source: it may hold a SAS token) to its last digest.
   * Updates go one at a time (each reads, changes and replaces the whole file: concurrent pulls lost
   * each other's entries), and the file is replaced by a rename, so a reader never sees half of it.
   */
  #remember(source: string, digest: string): Promise<void> {
    const update = this.#indexUpdates.then(async () => {
      const index = await this.#readIndex();
      index[sourceKey(source)] = digest;
      await mkdir(join(this.settings.dataDir, 'blobs'), { recursive: true });
      await replaceFile(this.#indexFile, JSON.stringify(index));
    });
    this.#indexUpdates = update.catch(() => undefined);
    return update;
  }

  async #lastKnown(source: string): Promise<FetchedBlob | undefined> {
    const digest = (await this.#readIndex())[sourceKey(source)];
    const bytes = digest ? await this.store.get(digest) : undefined;
    return bytes && digest ? { bytes, digest } : undefined;
  }

  async #readIndex(): Promise<Record<string, string>> {
    return readFile(this.#indexFile, 'utf8').then(parseIndex, () => ({}));
  }
}

function checkPin(blob: FetchedBlob, pinned: string | undefined, what: string): FetchedBlob {
  if (pinned && blob.digest !== pinned) {
    throw new WasmhostError('WH_ERR_DIGEST_MISMATCH', `sha256 of ${redact(what)} is ${blob.digest}, expected ${pinned}`);
  }
  return blob;
}

/** A damaged index (a power cut before the rename reached the disk) is an empty one: only fallbacks are lost. */
function parseIndex(text: string): Record<string, string> {
  try {
    const index = JSON.parse(text) as unknown;
    return isPlainObject(index) ? (index as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function sourceKey(source: string): string {
  return sha256Hex(source);
}
