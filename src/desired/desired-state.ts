import { readFile } from 'node:fs/promises';
import { replaceFile } from '../replace-file.js';
import type { Logger } from '../ops/index.js';
import { isPlainObject, mergePatch, validateDesired, type ValidatedDesired } from '../spec/index.js';

/** Where validated documents go (the supervisor); settles once that document's commands have run. */
export type ApplyDesired = (desired: ValidatedDesired, version: number | null) => Promise<{ readonly errors: readonly string[] }>;

export interface DesiredStateOptions {
  readonly allowUnpinned: boolean;
  readonly apply: ApplyDesired;
  readonly log: Logger;
  /** Keeps the last applied document (IoT Edge mode), so a start without edgeHub runs it. */
  readonly lastAppliedFile?: string;
  /** A patch skipped versions: the adapter must read the whole document again (then call replace). */
  readonly reread?: () => void;
  /** The applied version or the document errors changed (reported properties follow). */
  readonly onChange?: () => void;
}

/** Patches kept while a full read is under way; more than this means something is wrong: read again. */
const MAX_HELD_PATCHES = 100;
/** At most this many document errors are reported (reported properties stay small). */
const MAX_REPORTED_ERRORS = 20;

/**
 * The one owner of desired state. Adapters feed it whole documents (a twin read, local mode's file)
 * and patches; it merges, tracks `$version`, decides between applying a patch and reading the whole
 * document again, validates, hands each document to the supervisor, persists the last applied one, and
 * is the only writer of the applied version. A patch that arrives while a full read is under way is
 * kept and applied after it (those not newer than the read's version are dropped).
 */
export class DesiredState {
  readonly #options: DesiredStateOptions;
  /** As it came: validation says what is wrong with it (a document that is not even an object included). */
  #doc: unknown = {};
  /** The version of #doc: null until a versioned document arrived (local mode stays null). */
  #version: number | null = null;
  #applied: number | null = null;
  /** Documents handed to the supervisor, counted: results of older ones than the last finished are late. */
  #submitted = 0;
  #lastFinished = 0;
  #errors: readonly string[] = [];
  #reading = false;
  #held: Array<{ version: number; patch: Record<string, unknown> }> = [];
  #saving: Promise<void> = Promise.resolve();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: DesiredStateOptions) {
    this.#options = options;
  }

  /** The version of the newest document applied without a document-level error (reported as appliedDesiredVersion). */
  get appliedVersion(): number | null {
    return this.#applied;
  }

  /** Why the newest document was refused as a whole; empty when it was applied. */
  get errors(): readonly string[] {
    return this.#errors;
  }

  /** Offline start: applies the last applied document, if one was saved. Resolves true if there was one. */
  async restoreLastApplied(): Promise<boolean> {
    const file = this.#options.lastAppliedFile;
    const saved = file ? await loadSaved(file) : undefined;
    if (!saved) return false;
    this.#options.log.info(`applying the last desired state (version ${saved.version}) until the twin is read`);
    void this.replace(saved.desired, saved.version);
    return true;
  }

  /** A full read has started: patches wait until it ends (replace) or fails (readFailed). */
  readStarted(): void {
    this.#reading = true;
  }

  /** The read failed; the patches it held are dropped, as the next full read includes them. */
  readFailed(): void {
    this.#reading = false;
    this.#held = [];
  }

  /**
   * A whole document (a twin read, or local mode's file) replaces what is held. Patches held during
   * the read follow, in version order. Resolves once this document's commands have run.
   */
  replace(doc: unknown, version: number | null): Promise<void> {
    this.#reading = false;
    const held = this.#held.sort((a, b) => a.version - b.version);
    this.#held = [];
    this.#doc = doc;
    this.#version = version;
    const applied = this.#submit();
    for (const { version: v, patch } of held) if (!this.#applyPatch(patch, v)) break;
    return applied;
  }

  /** A desired-properties patch (`$version` inside, as IoT Hub sends it). */
  patch(patch: Record<string, unknown>): void {
    const version = Number(patch.$version);
    if (!Number.isSafeInteger(version) || version < 0) return this.#options.log.warn(`desired patch without a usable $version dropped`);
    if (!this.#reading) return void this.#applyPatch(patch, version);
    if (this.#held.length >= MAX_HELD_PATCHES) return this.#requestReread(`more than ${MAX_HELD_PATCHES} patches arrived during one read`);
    this.#held.push({ version, patch });
  }

  /** Resolves once every document handed over so far has been applied. */
  async settled(): Promise<void> {
    while (this.#inFlight.size) await Promise.all(this.#inFlight);
    await this.#saving;
  }

  /** False when the patch skipped versions (a full read was requested instead). */
  #applyPatch(patch: Record<string, unknown>, version: number): boolean {
    const current = this.#version ?? 0;
    if (version <= current) {
      this.#options.log.debug(`desired patch ${version} dropped: already at ${current}`);
      return true;
    }
    if (version > current + 1) {
      this.#requestReread(`desired patch ${version} skips versions after ${current}`);
      return false;
    }
    this.#options.log.info(`desired patch ${version} received`);
    this.#doc = mergePatch(isPlainObject(this.#doc) ? this.#doc : {}, patch);
    this.#version = version;
    void this.#submit();
    return true;
  }

  #requestReread(why: string): void {
    this.#options.log.info(`${why}; reading the whole desired document`);
    this.#held = [];
    this.#options.reread?.();
  }

  /** Validates the held document and hands it to the supervisor; records the outcome when it is done. */
  #submit(): Promise<void> {
    const doc = this.#doc;
    const version = this.#version;
    const sequence = ++this.#submitted;
    const validated = validateDesired(doc, { allowUnpinned: this.#options.allowUnpinned });
    const done = this.#options.apply(validated, version).then(
      (result) => this.#finished(sequence, doc, version, validated.documentInvalid, result.errors),
      (err: unknown) => this.#finished(sequence, doc, version, true, [`apply failed: ${(err as Error).message}`]),
    );
    this.#inFlight.add(done);
    void done.finally(() => this.#inFlight.delete(done));
    return done;
  }

  #finished(sequence: number, doc: unknown, version: number | null, refused: boolean, errors: readonly string[]): void {
    if (sequence < this.#lastFinished) return; // a newer document finished first: this result is stale
    this.#lastFinished = sequence;
    this.#errors = refused ? errors.slice(0, MAX_REPORTED_ERRORS) : [];
    if (!refused) {
      this.#applied = version;
      const file = this.#options.lastAppliedFile;
      if (file && version !== null) this.#saving = this.#saving.then(() => save(file, version, doc)).catch((err: Error) => this.#options.log.warn(`cannot save the desired state: ${err.message}`));
    }
    this.#options.onChange?.();
  }
}

function save(file: string, version: number, desired: unknown): Promise<void> {
  return replaceFile(file, JSON.stringify({ version, desired }));
}

async function loadSaved(file: string): Promise<{ version: number; desired: Record<string, unknown> } | undefined> {
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as { version?: unknown; desired?: unknown };
    return typeof saved.version === 'number' && saved.desired && typeof saved.desired === 'object' ? { version: saved.version, desired: saved.desired as Record<string, unknown> } : undefined;
  } catch {
    return undefined;
  }
}
