import { backoffDelay, type Backoff } from '../base/index.js';
import type { RestartPolicy } from '../spec/index.js';

/** baseMs: the first wait after a failure; doubles with each restart up to maxMs. */
export interface BackoffSettings extends Backoff {
  /** Running this long without failing resets the restart count (edgeAgent's "intensive care"). */
  readonly resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { baseMs: 1000, maxMs: 5 * 60_000, resetAfterMs: 10 * 60_000 };

export interface ExitFacts {
  readonly policy: RestartPolicy;
  /** Restarts made so far (before this exit). */
  readonly restarts: number;
  /** True when a command finished with code 0; false for any failure. */
  readonly clean: boolean;
  /** How long the instance ran before it ended. */
  readonly ranForMs: number;
}

export type ExitDecision =
  | { readonly action: 'restart'; readonly delayMs: number; readonly restarts: number }
  | { readonly action: 'stay'; readonly status: 'stopped' | 'failed' };

/** What to do after an instance ends (edgeAgent's RestartPolicyManager). Pure. */
export function decideAfterExit(facts: ExitFacts, settings: BackoffSettings = DEFAULT_BACKOFF): ExitDecision {
  const restartable = facts.policy === 'always' || (facts.policy === 'on-failure' && !facts.clean);
  if (!restartable) return { action: 'stay', status: facts.clean ? 'stopped' : 'failed' };
  const restarts = facts.ranForMs >= settings.resetAfterMs ? 0 : facts.restarts;
  return { action: 'restart', delayMs: backoffDelay(restarts, settings), restarts: restarts + 1 };
}
