export { createLogger, parseLogLevel, formatLine, type Logger } from './logger.js';
export { LogRing, type LogRecord } from './log-ring.js';
