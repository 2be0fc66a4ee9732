import { z } from 'zod';
import { EDGEHUB_MAX_MESSAGE_BYTES, ENDPOINT_NAME } from '../base/index.js';
import { graphSchema, toGraphSpec, type GraphSpec } from './graph.js';

export { EDGEHUB_MAX_MESSAGE_BYTES, ENDPOINT_NAME };
/** Names end up in file paths, log lines and output names: keep them plain. */
export const WORKLOAD_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** IoT Hub twin keys may not contain these (design.md "Twin limits"). */
const TWIN_KEY = /^[^.$ #]{1,128}$/;

/** jco treats guest pointers as signed 32-bit: stay well below 2 GiB (field notes). */
export const MAX_MEMORY_MB = 1024;
/** edgeHub refuses messages above 256 KB. */

const stringMap = (maxEntries: number, maxValue: number) =>
  z.record(z.string(), z.string().max(maxValue)).superRefine((m, ctx) => {
    const keys = Object.keys(m);
    if (keys.length > maxEntries) ctx.addIssue({ code: 'custom', message: `at most ${maxEntries} entries` });
    for (const key of keys.filter((k) => !TWIN_KEY.test(k))) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'twin keys may not be empty or contain ".", "$", space or "#"' });
    }
  });

/** MQTT-style topic filter: `+` only as a whole level, `#` only as the last level. */
const topicFilter = z
  .string()
  .min(1)
  .max(256)
  .refine(
    (f) => f.split('/').every((level, i, all) => (!level.includes('+') || level === '+') && (!level.includes('#') || (level === '#' && i === all.length - 1))),
    { message: '"+" and "#" must fill a whole level, "#" only at the end' },
  );

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, 'expected host or host:port')
  .max(255);

export const limitsSchema = z.looseObject({
  memoryMb: z.number().int().min(1).max(MAX_MEMORY_MB).default(64),
  callTimeoutMs: z.number().int().min(10).max(600_000).default(2000),
  messagesPerSecond: z.number().int().min(1).max(100_000).default(100),
  maxMessageBytes: z.number().int().min(1).max(EDGEHUB_MAX_MESSAGE_BYTES).default(EDGEHUB_MAX_MESSAGE_BYTES),
});

export const capabilitiesSchema = z.looseObject({
  storage: z.looseObject({ quotaMb: z.number().int().min(1).max(100_000).default(50) }).optional(),
  http: z.looseObject({ allowedHosts: z.array(hostPort).max(64).default([]) }).optional(),
  listen: z.looseObject({ port: z.number().int().min(1).max(65535) }).optional(),
});

export const workloadSchema = z.looseObject({
  /** The component; a graph workload has `graph` instead. */
  source: z.string().min(1).max(2048).optional(),
  graph: graphSchema.optional(),
  /** Graph workloads: the output their sink sends telemetry on (default: the workload's name). */
  output: z.string().regex(ENDPOINT_NAME, 'invalid output name').optional(),
  sha256: z.string().regex(/^(sha256:)?[0-9a-f]{64}$/, 'expected 64 lowercase hex digits').optional(),
  enabled: z.boolean().default(true),
  config: stringMap(256, 4096).default({}),
  env: stringMap(128, 4096).default({}),
  args: z.array(z.string().max(4096)).max(64).default([]),
  inputs: z.array(z.string().regex(ENDPOINT_NAME, 'invalid input name')).max(32).default([]),
  subscribe: z.array(topicFilter).max(32).default([]),
  timerMs: z.number().int().min(10).max(86_400_000).optional(),
  restartPolicy: z.enum(['always', 'on-failure', 'never']).default('always'),
  limits: limitsSchema.default(() => limitsSchema.parse({})),
  capabilities: capabilitiesSchema.default({}),
});

export type RestartPolicy = 'always' | 'on-failure' | 'never';

export interface WorkloadLimits {
  readonly memoryMb: number;
  readonly callTimeoutMs: number;
  readonly messagesPerSecond: number;
  readonly maxMessageBytes: number;
}

/** A validated workload with every default filled in; immutable once built. Unknown keys are dropped. */
export interface WorkloadSpec {
  readonly name: string;
  /** The component's source; undefined for a graph workload. */
  readonly source: string | undefined;
  /** A graph workload's graph (design.md "Azure IoT Operations data flow graphs"). */
  readonly graph: GraphSpec | undefined;
  /** Where a graph's sink sends telemetry (default: the workload's name). */
  readonly output: string | undefined;
  /** Lowercase hex without the `sha256:` prefix. */
  readonly sha256: string | undefined;
  readonly enabled: boolean;
  readonly config: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  readonly args: readonly string[];
  readonly inputs: readonly string[];
  readonly subscribe: readonly string[];
  readonly timerMs: number | undefined;
  readonly restartPolicy: RestartPolicy;
  readonly limits: WorkloadLimits;
  readonly capabilities: {
    readonly storage?: { readonly quotaMb: number };
    readonly http?: { readonly allowedHosts: readonly string[] };
    readonly listen?: { readonly port: number };
  };
}

/** Builds the spec from parsed input, keeping only known keys (so unknown keys never count as a change). */
export function toSpec(name: string, p: z.output<typeof workloadSchema>): WorkloadSpec {
  const { storage, http, listen } = p.capabilities;
  return {
    name,
    source: p.source,
    graph: p.graph && toGraphSpec(p.graph),
    output: p.output,
    sha256: p.sha256?.replace(/^sha256:/, ''),
    enabled: p.enabled,
    config: p.config,
    env: p.env,
    args: p.args,
    inputs: p.inputs,
    subscribe: p.subscribe,
    timerMs: p.timerMs,
    restartPolicy: p.restartPolicy,
    limits: {
      memoryMb: p.limits.memoryMb,
      callTimeoutMs: p.limits.callTimeoutMs,
      messagesPerSecond: p.limits.messagesPerSecond,
      maxMessageBytes: p.limits.maxMessageBytes,
    },
    capabilities: {
      ...(storage && { storage: { quotaMb: storage.quotaMb } }),
      ...(http && { http: { allowedHosts: http.allowedHosts } }),
      ...(listen && { listen: { port: listen.port } }),
    },
  };
}

/** Every blob a spec pins: its component, or its graph artifact and each module. */
export function pinnedDigests(spec: WorkloadSpec): string[] {
  const pins = [spec.sha256, spec.graph?.sha256, ...(spec.graph?.modules.map((m) => m.sha256) ?? [])];
  return pins.filter((pin): pin is string => pin !== undefined);
}

/** A broker client's name is its MQTT user name (and a twin key). */
export const BROKER_CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** `broker.clients.<name>`: who may connect to the local MQTT broker and what each may do (design.md). */
export const brokerClientSchema = z.looseObject({
  passwordSha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the sha256 of the password, 64 lowercase hex digits'),
  publish: z.array(topicFilter).max(64).default([]),
  subscribe: z.array(topicFilter).max(64).default([]),
});

export interface BrokerClientSpec {
  readonly name: string;
  readonly passwordSha256: string;
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}
