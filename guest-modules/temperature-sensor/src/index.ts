// Simulated machine sensor in the spirit of Microsoft's SimulatedTemperatureSensor: every timer tick
// sends one reading to output `temperature` and publishes it on local topic `plant/<machine>/temperature`
// (where a filter can subscribe). Config: machine, minTemp, maxTemp.
import type * as Handler from 'edge:host/handler@0.1.0';
import { send } from 'edge:host/telemetry@0.1.0';
import { publish } from 'edge:host/pubsub@0.1.0';
import { get } from 'edge:host/config@0.1.0';
import { log } from 'edge:host/log@0.1.0';

const encoder = new TextEncoder();
const numberFrom = (key: string, fallback: number): number => {
  const value = Number(get(key));
  return get(key) != null && Number.isFinite(value) ? value : fallback; // none is null (QuickJS; undefined with SpiderMonkey)
};

let machineTemperature = 0;
let rising = true;

export const handler: typeof Handler = {
  init() {
    machineTemperature = numberFrom('minTemp', 21);
    log('info', `sensor for machine ${get('machine') ?? 'machine-1'} ready`);
  },
  onTimer() {
    const minTemp = numberFrom('minTemp', 21);
    const maxTemp = numberFrom('maxTemp', 100);
    // Warm up to maxTemp, then cool back down, with noise: enough to cross a filter's threshold.
    machineTemperature += (rising ? 1 : -1) * (Math.random() * 4 + 1);
    if (machineTemperature >= maxTemp) rising = false;
    if (machineTemperature <= minTemp) rising = true;
    const reading = {
      machine: {
        name: get('machine') ?? 'machine-1',
        temperature: Number(machineTemperature.toFixed(2)),
        pressure: Number((1 + (machineTemperature - minTemp) * 0.1 + Math.random() * 0.1).toFixed(3)),
      },
      ambient: {
        temperature: Number((21 + Math.random()).toFixed(2)),
        humidity: Math.round(24 + Math.random() * 3),
      },
      timeCreated: new Date().toISOString(),
    };
    const msg = { body: encoder.encode(JSON.stringify(reading)), contentType: 'application/json', properties: [] };
    send('temperature', msg);
    publish(`plant/${reading.machine.name}/temperature`, msg);
  },
  onMessage() {},
  onMethod(name) {
    if (name === 'reset') {
      machineTemperature = numberFrom('minTemp', 21);
      return JSON.stringify({ reset: true });
    }
    throw `unknown method ${name}`;
  },
};
