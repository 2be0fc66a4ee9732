export { startEdgeMode, type EdgeHost } from './edge-mode.js';
