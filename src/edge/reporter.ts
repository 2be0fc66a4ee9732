import type { Logger } from '../ops/index.js';
import { fitReported, reportedPatch } from './reported.js';
import type { ModuleLink } from './module-link.js';

export type ReportedDocument = { host: Record<string, unknown>; workloads: Record<string, Record<string, unknown>> } & Record<string, unknown>;

/**
 * Sends reported properties as patches against what IoT Hub already has, at most once per
 * `intervalMs` however often statuses change (design.md: "batched, no more than a few per second").
 */
export class Reporter {
  #link: ModuleLink | undefined;
  #acknowledged: Record<string, unknown> = {};
  #timer: NodeJS.Timeout | undefined;
  /** The update awaiting its answer, and the link it went out on. */
  #inFlight: { link: ModuleLink; answered: Promise<void> } | undefined;

  constructor(
    private readonly build: () => ReportedDocument,
    private readonly log: Logger,
    private readonly intervalMs = 500,
  ) {}

  /** Starts reporting over `link`; `reported` is what the twin GET said is reported now. */
  attach(link: ModuleLink, reported: Record<string, unknown>): void {
    this.#link = link;
    this.#acknowledged = withoutMetadata(reported);
    this.schedule();
  }

  detach(): void {
    this.#link = undefined;
  }

  schedule(): void {
    if (this.#timer || !this.#link) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.intervalMs);
  }

  /** Sends what changed now (also used at shutdown). */
  async flush(): Promise<void> {
    // One update at a time on a link. An update that went out on a link since replaced (edgeHub
    // restarted before answering) is not waited for: its answer may never come before its timeout.
    while (this.#inFlight && this.#inFlight.link === this.#link) await this.#inFlight.answered;
    const link = this.#link;
    if (!link) return;
    const doc = fitReported(this.build());
    const patch = reportedPatch(this.#acknowledged, doc);
    if (!patch) return;
    const flight = {
      link,
      answered: link.updateReported(patch).then(
        () => void (this.#link === link && (this.#acknowledged = doc)),
        (err: Error) => {
          this.log.warn(`reported properties update failed: ${err.message}`);
          this.schedule();
        },
      ),
    };
    this.#inFlight = flight;
    await flight.answered;
    if (this.#inFlight === flight) this.#inFlight = undefined;
  }
}

function withoutMetadata(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !k.startsWith('$'))
      .map(([k, v]) => [k, v && typeof v === 'object' && !Array.isArray(v) ? withoutMetadata(v as Record<string, unknown>) : v]),
  );
}
