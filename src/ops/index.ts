export { createLogger, parseLogLevel, formatLine, type Logger } from './logger.js';
export { LogRing, type LogRecord } from './log-ring.js';
export { HostMetrics, hostLabels, type HostLabels } from './metrics.js';
export { Operations, type HealthReport } from './operations.js';
export { openTelemetry, NO_TRACING, type Tracing } from './open-telemetry.js';
