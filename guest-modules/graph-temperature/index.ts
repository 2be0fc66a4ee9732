// Azure IoT Operations data flow operators (wasm-graph:processor@1.1.0) for temperature readings shaped
// as AIO's samples shape them: {"temperature": {"value": 98.6, "unit": "F"}}.
// - map: Fahrenheit to Celsius; numbers every reading it converts with a durable count in the state store
//   (key "converted"), so the sequence goes on across restarts.
// - filter: passes readings within [temperature_lower_bound, temperature_upper_bound] (moduleConfigurations).
// - branch: true for a temperature reading, false for anything else.
// - accumulate: folds a window's readings into count / min / max / average / last.
import { log } from 'wasm-graph:processor/logger@1.1.0';
import { addToCounter, recordToHistogram } from 'wasm-graph:processor/metrics@1.1.0';
import { get as stateGet, set as stateSet } from 'wasm-graph:processor/state-store@1.1.0';

type Bytes = { tag: 'bytes'; val: Uint8Array } | { tag: 'buffer'; val: { read(): Uint8Array } };
interface Message { timestamp: unknown; topic: Bytes; contentType?: unknown; payload: Bytes; properties: { userProperties: unknown[] }; schema?: unknown }
type DataModel = { tag: 'message'; val: Message } | { tag: 'buffer-or-bytes'; val: Bytes } | { tag: 'snapshot'; val: unknown };
interface Configuration { properties: Array<[string, string]>; moduleSchemas: unknown[] }
interface Reading { value?: number; unit: 'C' | 'F'; count?: number; min?: number; max?: number; average?: number; last?: number; seq?: number }

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytesOf = (b: Bytes): Uint8Array => (b.tag === 'bytes' ? b.val : b.val.read());

/** An operator's err is the WIT `error` record. */
function fail(message: string): never {
  throw { message };
}

function readingOf(dm: DataModel): { message: Message; reading: Reading | undefined } {
  if (dm.tag !== 'message') fail(`expected a message, got ${dm.tag}`);
  const text = decoder.decode(bytesOf(dm.val.payload));
  let parsed: { temperature?: Reading };
  try {
    parsed = JSON.parse(text);
  } catch {
    fail('payload is not JSON');
  }
  return { message: dm.val, reading: parsed.temperature };
}

/**
 * A u64 as this engine passes them: bigint with SpiderMonkey, number with QuickJS. `like` is any u64
 * the guest was given (a message timestamp's counter), so the operator builds with either engine.
 */
const u64 = (value: number, like: unknown): bigint | number => (typeof like === 'bigint' ? BigInt(value) : value);
const count = (name: string, module: string, like: unknown) => addToCounter(name, { tag: 'u64', val: u64(1, like) }, [{ key: 'module', value: module }]);
const counterOf = (dm: DataModel): unknown => (dm.tag === 'message' ? (dm.val.timestamp as { counter: unknown }).counter : 0);
const withPayload = (message: Message, body: unknown): DataModel => ({ tag: 'message', val: { ...message, payload: { tag: 'bytes', val: encoder.encode(JSON.stringify(body)) }, contentType: { tag: 'string', val: 'application/json' } } });

let lower = -40;
let upper = 3422;

export const map = {
  init(configuration: Configuration): boolean {
    log('info', 'temperature/map', `init with ${configuration.properties.length} properties`);
    return true;
  },
  process(dm: DataModel): DataModel {
    count('requests', 'temperature/map', counterOf(dm));
    const { message, reading } = readingOf(dm);
    if (!reading || typeof reading.value !== 'number') return dm;
    const stored = stateGet(encoder.encode('converted'), undefined).response; // none: undefined or null, by engine
    const seq = (stored ? Number(decoder.decode(stored)) : 0) + 1;
    stateSet(encoder.encode('converted'), encoder.encode(String(seq)), undefined, undefined, { conditions: 'unconditional', expires: undefined });
    const celsius = reading.unit === 'F' ? Math.round(((reading.value - 32) * 5) / 9 * 100) / 100 : reading.value;
    return withPayload(message, { temperature: { value: celsius, unit: 'C', seq } });
  },
};

export const filter = {
  init(configuration: Configuration): boolean {
    for (const [key, value] of configuration.properties) {
      const number = Number(value);
      if (!Number.isFinite(number)) {
        log('error', 'temperature/filter', `${key} is not a number: ${value}`);
        return false;
      }
      if (key === 'temperature_lower_bound') lower = number;
      if (key === 'temperature_upper_bound') upper = number;
    }
    log('info', 'temperature/filter', `passing ${lower} to ${upper}`);
    return true;
  },
  process(dm: DataModel): boolean {
    count('requests', 'temperature/filter', counterOf(dm));
    const { reading } = readingOf(dm);
    return typeof reading?.value === 'number' && reading.value >= lower && reading.value <= upper;
  },
};

export const branch = {
  init(): boolean {
    return true;
  },
  process(_timestamp: unknown, dm: DataModel): boolean {
    return readingOf(dm).reading !== undefined;
  },
};

export const accumulate = {
  init(): boolean {
    return true;
  },
  process(staged: DataModel, messages: DataModel[]): DataModel {
    count('requests', 'temperature/accumulate', counterOf(staged));
    if (staged.tag !== 'message') fail('staged is not a message');
    const before = bytesOf(staged.val.payload);
    const sum: Required<Pick<Reading, 'count' | 'min' | 'max' | 'average' | 'last'>> = before.length
      ? JSON.parse(decoder.decode(before)).temperature
      : { count: 0, min: Infinity, max: -Infinity, average: 0, last: 0 };
    let total = sum.average * sum.count;
    let topic = staged.val.topic;
    for (const dm of messages) {
      const { message, reading } = readingOf(dm);
      if (typeof reading?.value !== 'number') continue;
      sum.count++;
      total += reading.value;
      sum.min = Math.min(sum.min, reading.value);
      sum.max = Math.max(sum.max, reading.value);
      sum.last = reading.value;
      topic = message.topic;
    }
    sum.average = sum.count ? Math.round((total / sum.count) * 100) / 100 : 0;
    recordToHistogram('window_readings', { tag: 'u64', val: u64(messages.length, counterOf(staged)) }, [{ key: 'module', value: 'temperature/accumulate' }]);
    return withPayload({ ...staged.val, topic }, { temperature: { ...sum, unit: 'C' } });
  },
};
