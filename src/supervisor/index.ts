export { Supervisor, type SupervisorOptions, type ApplyResult } from './supervisor.js';
export { decideAfterExit, DEFAULT_BACKOFF, type BackoffSettings, type ExitDecision } from './restart-policy.js';
export { plan, describe, type Command } from './plan.js';
export { topicMatches } from '../base/index.js';
export { rollbackDue, type Probation } from './probation.js';
export { KeyedLock } from './keyed-lock.js';
export { BusyWindow } from './busy-window.js';
