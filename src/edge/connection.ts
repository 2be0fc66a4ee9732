import { backoffDelay, jittered, type Backoff } from '../base/index.js';
import type { Logger } from '../ops/index.js';
import { ModuleLink, type TwinDocument } from './module-link.js';

export interface ConnectionHandlers {
  /** Registers methods and inputs on a newly opened link. */
  setup(link: ModuleLink): void;
  /** A full twin read begins (patches arriving meanwhile must be kept for after it). */
  twinReadStarted(): void;
  /** A full twin read: at start, after every reconnect (the SDK never re-reads it, field notes), and on request. */
  twin(twin: TwinDocument, link: ModuleLink): void;
  /** A twin read failed; on the connecting path, the connection is made again (and read again). */
  twinReadFailed(err: Error): void;
  /** A desired patch, from the moment patches are subscribed (before the first read). */
  desiredPatch(patch: Record<string, unknown>): void;
  /** The link is gone (SDK gave up); a new one is being made. */
  lost(): void;
}

/**
 * Keeps one working link to edgeHub through the SDK's gaps: every connection, the first included, is
 * retried with backoff; desired patches are subscribed before the twin is read; and every drop makes a
 * fresh client, which re-reads the twin.
 */
export class EdgeConnection {
  #link: ModuleLink | undefined;
  /** The link being opened: its patches count already (they arrive before and during the first read). */
  #opening: ModuleLink | undefined;
  #stopped = false;
  #connecting: Promise<void> | undefined;
  /** A twin read to try again: one that failed on a link still up would otherwise leave the desired state stale. */
  #rereadTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly handlers: ConnectionHandlers,
    private readonly log: Logger,
    private readonly createLink: () => Promise<ModuleLink> = () => ModuleLink.fromEnvironment(),
    private readonly backoff: Backoff = { baseMs: 1000, maxMs: 30_000 },
  ) {}

  get link(): ModuleLink | undefined {
    return this.#link;
  }

  /** Connects in the background, retrying until it succeeds or stop() is called. */
  start(): Promise<void> {
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  /** Closes the link now; a connection attempt in progress closes its own link when it sees the stop. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#rereadTimer);
    const link = this.#link;
    this.#link = undefined;
    await link?.close();
  }

  async #connect(): Promise<void> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      let link: ModuleLink | undefined;
      try {
        link = await this.createLink();
        link.on('error', (err) => this.log.warn(`edgeHub connection error: ${err?.message ?? err}`));
        await link.open();
        const current = link;
        this.#opening = link;
        await link.enableDesiredPatches((patch) => (this.#link === current || this.#opening === current) && this.handlers.desiredPatch(patch));
        this.handlers.setup(link);
        this.handlers.twinReadStarted();
        const twin = await link.getTwin().catch((err: Error) => {
          this.handlers.twinReadFailed(err);
          throw err;
        });
        this.handlers.twin(twin, link);
        // With the SDK's retries off (ModuleLink), any drop ends this link and a fresh client subscribes
        // everything again and re-reads the twin (the SDK never re-reads it, field notes), so patches
        // made while away are applied. A 'connect' after open would mean the SDK reconnected anyway: same.
        link.on('connect', () => void this.#replace(current, 'the SDK reconnected by itself'));
        link.on('disconnect', (err) => void this.#replace(current, `disconnected${err?.message ? ` (${err.message})` : ''}`));
        if (this.#stopped) return void (await link.close());
        this.#link = link;
        this.#opening = undefined;
        this.log.info(`connected to edgeHub${attempt ? ` after ${attempt + 1} attempts` : ''}`);
        return;
      } catch (err) {
        if (this.#opening === link) this.#opening = undefined;
        await link?.close();
        const delay = backoffDelay(attempt, this.backoff);
        this.log.warn(`cannot connect to edgeHub (${(err as Error).message}); retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, jittered(delay)));
      }
    }
  }

  /**
   * Reads the whole twin again on the current link (a patch skipped versions); a read that fails is
   * tried again with backoff while that link lasts. No link: the next one reads it.
   */
  reread(attempt = 0): void {
    clearTimeout(this.#rereadTimer);
    const link = this.#link;
    if (!link) return;
    this.handlers.twinReadStarted();
    link.getTwin().then(
      (twin) => this.#link === link && this.handlers.twin(twin, link),
      (err: Error) => {
        this.handlers.twinReadFailed(err);
        if (this.#link !== link) return this.log.warn(`twin read failed: ${err.message}`);
        const delay = backoffDelay(attempt, this.backoff);
        this.log.warn(`twin read failed: ${err.message}; reading it again in ${delay} ms`);
        this.#rereadTimer = setTimeout(() => this.#link === link && this.reread(attempt + 1), delay);
      },
    );
  }

  async #replace(link: ModuleLink, why: string): Promise<void> {
    if (this.#link !== link) return;
    this.log.warn(`edgeHub link replaced: ${why}`);
    this.#link = undefined;
    this.handlers.lost();
    await link.close();
    if (!this.#stopped) void this.start();
  }
}
