// The work of the graph-temperature operators' branch -> map -> filter graph, as one handler (the
// graph benchmark's baseline): a temperature reading is converted from Fahrenheit to Celsius and
// numbered with a durable count (kv "converted"), kept when within the configured bounds, and sent on
// output "out"; anything else is dropped.
import { send } from 'edge:host/telemetry@0.1.0';
import { get as configGet } from 'edge:host/config@0.1.0';
import { get as kvGet, set as kvSet } from 'edge:host/kv@0.1.0';

interface Message { body: Uint8Array; contentType?: string; properties: Array<[string, string]> }

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export const handler = {
  init(): void {},
  onTimer(): void {},
  onMessage(_source: string, msg: Message): void {
    const reading = (JSON.parse(decoder.decode(msg.body)) as { temperature?: { value?: number; unit?: string } }).temperature;
    if (!reading || typeof reading.value !== 'number') return;
    const stored = kvGet('converted');
    const seq = (stored ? Number(decoder.decode(stored)) : 0) + 1;
    kvSet('converted', encoder.encode(String(seq)));
    const value = reading.unit === 'F' ? Math.round(((reading.value - 32) * 5) / 9 * 100) / 100 : reading.value;
    const lower = Number(configGet('temperature_lower_bound') ?? '-40');
    const upper = Number(configGet('temperature_upper_bound') ?? '3422');
    if (value < lower || value > upper) return;
    send('out', { body: encoder.encode(JSON.stringify({ temperature: { value, unit: 'C', seq } })), contentType: 'application/json', properties: [] });
  },
  onMethod(): string {
    return '{}';
  },
};
