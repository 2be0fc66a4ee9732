import type { GuestMessage } from '../base/index.js';
import type { HostMetrics, Logger } from '../ops/index.js';
import type { HostSettings } from '../settings.js';
import { EDGEHUB_MAX_MESSAGE_BYTES } from '../spec/index.js';
import { LocalBroker } from './local-broker.js';

/** Clients one broker serves at once: a device's services, not the internet. */
const MAX_CLIENTS = 256;

/**
 * Starts the device's broker as the settings say (both ports 0: none), on `host` (the module network
 * in IoT Edge mode, loopback in local mode), with its metrics. `toWorkloads` receives what clients publish.
 */
export async function startLocalBroker(settings: HostSettings, host: string, log: Logger, metrics: HostMetrics, toWorkloads: (topic: string, msg: GuestMessage) => void): Promise<LocalBroker | undefined> {
  if (!settings.mqttPort && !settings.mqttWsPort) return undefined;
  let broker: LocalBroker | undefined;
  broker = await LocalBroker.start({
    log,
    allowAnonymous: settings.mqttAllowAnonymous,
    maxPacketBytes: EDGEHUB_MAX_MESSAGE_BYTES + 4096, // a 256 KB payload, its topic and properties
    maxClients: MAX_CLIENTS,
    clientRate: settings.mqttClientRate,
    totalRate: settings.mqttTotalRate,
    toWorkloads,
    meter: metrics.brokerMeter(() => broker?.connectedClients ?? 0, () => broker?.storedBytes),
  });
  await broker.listen(settings.mqttPort, settings.mqttWsPort, host);
  return broker;
}
