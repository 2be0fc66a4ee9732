export { LocalBroker, covers, type BrokerOptions, type BrokerMeter, type BrokerClientStatus } from './local-broker.js';
export { STORE_LIMITS, type StoreLimits } from './bounded-store.js';
export { startLocalBroker } from './start.js';
