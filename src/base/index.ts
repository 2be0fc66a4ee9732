export { EDGEHUB_MAX_MESSAGE_BYTES, ENDPOINT_NAME, isInterface, type CallStats, type ExportName, type FailureReason, type GuestMessage, type LogLevel, type WorkloadKind } from './workload-types.js';
export { bodyText, isTextContentType, type OutboundMessage, type TelemetrySink } from './telemetry.js';
export { NO_METER, type WorkloadMeter, type WorkloadSample, type WorkloadState, type WorkloadStatus, type WorkloadUsage } from './status.js';
export { topicMatches } from './topics.js';
export { mqttPacketOf, writePacketIdsUncached } from './mqtt-packet-ids.js';
export { backoffDelay, jittered, type Backoff } from './backoff.js';
export { OPERATOR_TYPES, operatorExports, operatorInterface, type GraphMeasurements, type GraphNodePlan, type OperatorCounter, type OperatorHistogram, type GraphNodeType, type GraphPlan, type NodeOutcome, type OperatorType } from './graph.js';
