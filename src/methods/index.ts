export { createMethodHandlers, dispatchMethod, MAX_METHOD_PAYLOAD_BYTES, type MethodResponse, type HostInfo } from './handlers.js';
export { selectLogs, MAX_LOG_ITEMS, type LogSource, type LogsRequest } from './logs.js';
