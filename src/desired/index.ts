export { DesiredState, type ApplyDesired, type DesiredStateOptions } from './desired-state.js';
