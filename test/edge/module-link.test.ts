// The link to edgeHub in process: the real SDK client made by fromEnvironment against the emulator.
import { ModuleLink } from '../../dist/edge/module-link.js';
import { EdgeHubEmulator } from '../../test-support/edgehub/emulator.mjs';
import { packetIdsCached, waitFor } from '../helpers.js';

/** The SDK's own mqtt (4.x) and its copy of mqtt-packet. */
const SDK_MQTT = ['azure-iot-device-mqtt', 'azure-iot-mqtt-base', 'mqtt'];

let hub: EdgeHubEmulator;
const saved = { ...process.env };

beforeAll(async () => {
  hub = await EdgeHubEmulator.start();
  await hub.setDesired({ schemaVersion: '1.0', workloads: {} });
  Object.assign(process.env, hub.env());
});

afterAll(async () => {
  process.env = saved;
  await hub.close();
});

it('sends outputs without mqtt-packet\'s cache of all 65,536 packet ids (6.6 MB of heap held for good)', async () => {
  const link = await ModuleLink.fromEnvironment();
  try {
    await link.open();
    for (let i = 0; i < 20; i++) await link.sendOutput('telemetry', `m${i}`, { messageId: `id-${i}`, properties: [] });
    await waitFor('20 outputs at edgeHub', () => hub.outputs.length >= 20);
  } finally {
    await link.close();
  }
  expect(hub.outputs.map((o) => o.body.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
  expect(packetIdsCached(SDK_MQTT)).toBe(0);
}, 30_000);
