export type { CallStats, ExportName, FailureReason, GuestMessage, LogLevel, WorkloadKind } from './workload-types.js';
export { bodyText, isTextContentType, type OutboundMessage, type TelemetrySink } from './telemetry.js';
export { NO_METER, type WorkloadMeter, type WorkloadSample, type WorkloadState, type WorkloadStatus } from './status.js';
export { topicMatches } from './topics.js';
