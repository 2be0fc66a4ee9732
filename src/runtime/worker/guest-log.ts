import type { LogLevel } from '../protocol.js';
import { TokenBucket } from '../token-bucket.js';
import type { EffectBuffer } from './effects.js';
import { LOG_LINES_PER_SECOND } from './guest-stdio.js';

const MAX_LOG_CHARS = 4096;

/** One line for the workload's log, from any logging import a guest uses. */
export type GuestLog = (level: LogLevel, message: string) => void;

/**
 * The workload's log as its imports write it (edge:host/log, wasi:logging): one budget of lines a
 * second across all of them, each line cut at MAX_LOG_CHARS; over budget, lines are counted and dropped.
 */
export function guestLog(effects: EffectBuffer): GuestLog {
  const budget = new TokenBucket(LOG_LINES_PER_SECOND);
  return (level, message) => {
    if (!budget.take()) return effects.refuse('log', 'budget', `over ${LOG_LINES_PER_SECOND} log lines/s`);
    const text = message.length > MAX_LOG_CHARS ? `${message.slice(0, MAX_LOG_CHARS)}...(truncated)` : message;
    effects.push({ type: 'log', level, message: text });
  };
}
