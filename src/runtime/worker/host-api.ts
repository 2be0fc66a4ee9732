import { ENDPOINT_NAME } from '../../base/index.js';
import type { GuestMessage, LogLevel, WorkerInit } from '../protocol.js';
import { EffectBuffer } from './effects.js';
import { TokenBucket } from '../token-bucket.js';
import type { GuestLog } from './guest-log.js';
import { withTraceparent } from './trace-context.js';
import type { KvStore } from './kv-store.js';
import { OutboxRefusal, type OutboxWriter } from '../../outbox/writer.js';

/** Concrete topics only: wildcards belong in `subscribe`, not in `publish`. */
const TOPIC = /^[^+#\u0000]{1,256}$/;
const PROPERTY_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const MAX_PROPERTIES = 32;
/** Set by the host on every message; a guest may not forge them. */
const RESERVED_PROPERTIES = new Set(['workload', 'workloadDigest']);
const LEVELS: ReadonlySet<string> = new Set<LogLevel>(['trace', 'debug', 'info', 'warn', 'error']);

/**
 * The `edge:host` imports of one workload. Everything a guest passes is checked here, in the worker,
 * so a refused call costs the guest an `err` (a thrown string, which jco turns into `err`) and the host
 * nothing. Accepted effects are batched to the main thread.
 */
export function hostImports(init: WorkerInit, effects: EffectBuffer, kv: KvStore | undefined, log: GuestLog, outbox?: OutboxWriter): Record<string, unknown> {
  const budget = new TokenBucket(init.messagesPerSecond);

  const checkMessage = (what: 'telemetry' | 'publish', msg: GuestMessage): GuestMessage => {
    const problem = messageProblem(msg, init.maxMessageBytes);
    if (problem) refuse(effects, what, 'invalid', problem);
    if (!budget.take()) refuse(effects, what, 'budget', `over limits.messagesPerSecond (${init.messagesPerSecond})`);
    return { body: msg.body, contentType: msg.contentType, properties: withTraceparent(msg.properties) };
  };

  return {
    'edge:host/telemetry': {
      send(output: string, msg: GuestMessage): void {
        if (!ENDPOINT_NAME.test(output)) refuse(effects, 'telemetry', 'invalid', `invalid output name ${JSON.stringify(output.slice(0, 80))}`);
        const checked = checkMessage('telemetry', msg);
        if (!outbox) return effects.push({ type: 'telemetry', output, msg: checked });
        try {
          outbox.append(output, checked); // durable before ok
        } catch (err) {
          if (err instanceof OutboxRefusal) refuse(effects, 'telemetry', err.reason, err.message);
          throw err;
        }
        effects.appended();
      },
    },
    'edge:host/pubsub': {
      publish(topic: string, msg: GuestMessage): void {
        if (!TOPIC.test(topic)) refuse(effects, 'publish', 'invalid', `invalid topic ${JSON.stringify(topic.slice(0, 80))}: 1-256 characters without "+" or "#"`);
        effects.push({ type: 'publish', topic, msg: checkMessage('publish', msg) });
      },
    },
    'edge:host/config': configImports(init),
    'edge:host/log': {
      log(level: string, message: string): void {
        log(LEVELS.has(level) ? (level as LogLevel) : 'info', message);
      },
    },
    'edge:host/kv': kvImports(kv),
  };
}

/** The workload's config as a guest reads it: edge:host/config, and wasi:config/store (the same shape). */
export function configImports(init: WorkerInit): { get(key: string): string | undefined; getAll(): Array<[string, string]> } {
  const config = new Map(init.config);
  return { get: (key) => config.get(key), getAll: () => init.config };
}

function kvImports(kv: KvStore | undefined): Record<string, unknown> {
  const store = (): KvStore => {
    if (!kv) throw 'kv is not available: the host has no data directory for this workload';
    return kv;
  };
  return {
    get: (key: string) => kv?.get(key),
    set: (key: string, value: Uint8Array) => store().set(key, value),
    delete: (key: string) => store().delete(key),
    listKeys: (prefix: string) => kv?.listKeys(prefix) ?? [],
  };
}

/** Records the refusal and throws the message back to the guest as its `err`. */
function refuse(effects: EffectBuffer, what: 'telemetry' | 'publish', reason: 'invalid' | 'budget' | 'backpressure' | 'io', detail: string): never {
  effects.refuse(what, reason, detail);
  throw detail;
}

function messageProblem(msg: GuestMessage, maxBytes: number): string | undefined {
  if (msg.properties.length > MAX_PROPERTIES) return `at most ${MAX_PROPERTIES} properties`;
  let size = msg.body.byteLength + (msg.contentType?.length ?? 0);
  for (const [key, value] of msg.properties) {
    if (!PROPERTY_KEY.test(key)) return `invalid property name ${JSON.stringify(key.slice(0, 80))}`;
    if (RESERVED_PROPERTIES.has(key)) return `property ${key} is set by the host`;
    size += key.length + value.length;
  }
  if (msg.contentType !== undefined && !/^[\x21-\x7e][\x20-\x7e]{0,127}$/.test(msg.contentType)) return 'invalid content type';
  if (size > maxBytes) return `message is ${size} bytes; limits.maxMessageBytes is ${maxBytes}`;
  return undefined;
}
