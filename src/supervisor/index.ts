export { Supervisor, type SupervisorOptions, type ApplyResult } from './supervisor.js';
export { bodyText, isTextContentType, type TelemetrySink, type OutboundMessage } from './sink.js';
export type { WorkloadStatus, WorkloadState } from './status.js';
export { decideAfterExit, DEFAULT_BACKOFF, type BackoffSettings, type ExitDecision } from './restart-policy.js';
export { plan, describe, type Command } from './plan.js';
export { topicMatches } from './topics.js';
export type { WorkloadMeter, WorkloadSample } from './meter.js';
