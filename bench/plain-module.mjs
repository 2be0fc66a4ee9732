// Baseline for the telemetry benchmark: a plain Node IoT Edge module that sends the same messages with
// the same SDK (fromEnvironment + sendOutputEvent), 100 in flight, for SECONDS seconds.
import { randomUUID } from 'node:crypto';
import iot from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';

const seconds = Number(process.env.SECONDS ?? 5);
const client = await iot.ModuleClient.fromEnvironment(Mqtt);
client.on('error', () => undefined);
await client.open();
const deadline = Date.now() + seconds * 1000;
const sendOne = async () => {
  while (Date.now() < deadline) {
    const message = new iot.Message('{"ok":true}');
    message.messageId = randomUUID();
    message.contentType = 'application/json'; // the same message as wasmhost sends for a JSON body
    message.contentEncoding = 'utf-8';
    message.properties.add('workload', 'baseline');
    message.properties.add('workloadDigest', 'sha256:0');
    await client.sendOutputEvent('ticks', message);
  }
};
await Promise.all(Array.from({ length: 100 }, sendOne));
await client.close();
process.exit(0);
