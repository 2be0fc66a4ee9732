export { createMethodHandlers, dispatchMethod, MAX_METHOD_PAYLOAD_BYTES, type MethodResponse, type HostInfo } from './handlers.js';
