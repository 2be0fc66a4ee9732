// An Azure IoT Operations delay operator (wasm-graph:processor@1.1.0): moves each message's timestamp to
// the end of its window (config window_ms, default 10000), as AIO's window sample does, so an accumulate
// after it folds each window into one message.
import { log } from 'wasm-graph:processor/logger@1.1.0';

/** u64s are bigints with SpiderMonkey and numbers with QuickJS: the operator builds with either. */
interface Timespec { secs: bigint | number; nanos: number }
interface Hlc { timestamp: Timespec; counter: bigint | number; nodeId: string }
interface Configuration { properties: Array<[string, string]>; moduleSchemas: unknown[] }

let windowMs = 10_000n;

export const delay = {
  init(configuration: Configuration): boolean {
    const configured = configuration.properties.find(([key]) => key === 'window_ms')?.[1];
    if (configured !== undefined) {
      if (!/^[1-9][0-9]{0,8}$/.test(configured)) {
        log('error', 'window/delay', `window_ms must be a positive whole number, got ${configured}`);
        return false;
      }
      windowMs = BigInt(configured);
    }
    log('info', 'window/delay', `windows of ${windowMs} ms`);
    return true;
  },
  process(_data: unknown, timestamp: Hlc): Hlc {
    const big = typeof timestamp.timestamp.secs === 'bigint';
    const ms = BigInt(timestamp.timestamp.secs) * 1000n + BigInt(Math.floor(timestamp.timestamp.nanos / 1e6));
    const end = (ms / windowMs + 1n) * windowMs;
    const secs = end / 1000n;
    return { timestamp: { secs: big ? secs : Number(secs), nanos: Number(end % 1000n) * 1_000_000 }, counter: big ? 0n : 0, nodeId: timestamp.nodeId };
  },
};
