export { LocalBroker, covers, type BrokerOptions, type BrokerMeter, type BrokerClientStatus } from './local-broker.js';
export { startLocalBroker } from './start.js';
