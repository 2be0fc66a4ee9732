export { startLocalMode, type LocalHost } from './local-mode.js';
export { messageToJson } from './local-sink.js';
