import { resolve } from 'node:path';
import type { FetchSettings } from './fetch/index.js';
import type { FsyncPolicy } from './outbox/index.js';
import { parseLogLevel } from './ops/logger.js';
import type { LogLevel } from './base/index.js';

/** Host settings: environment variables from the deployment manifest, never the twin (design.md). */
export interface HostSettings {
  readonly mode: 'edge' | 'local';
  readonly dataDir: string;
  readonly desiredFile: string;
  readonly allowUnpinned: boolean;
  readonly allowHttp: boolean;
  readonly maxBlobBytes: number;
  readonly registryAuthFile: string | undefined;
  readonly outboxMaxBytes: number;
  readonly outboxTotalMaxBytes: number;
  readonly outboxTtlMs: number;
  readonly outboxFsync: FsyncPolicy;
  readonly metricsPort: number;
  readonly adminPort: number;
  /** The local MQTT broker: TCP and WebSocket ports (0: off), and whether clients without credentials may connect. */
  readonly mqttPort: number;
  readonly mqttWsPort: number;
  readonly mqttAllowAnonymous: boolean;
  /** Publishes a second the broker takes from one client, and from all together; faster ones wait. */
  readonly mqttClientRate: number;
  readonly mqttTotalRate: number;
  readonly logLevel: LogLevel;
  /** Full collections paced by heap growth in every isolate of the module (runtime/paced-gc.ts); false leaves them to V8. */
  readonly pacedGc: boolean;
}

/** The fetcher's settings for this host; local mode also reads files beside its desired file. */
export function fetchSettings(settings: HostSettings, localBase?: string): FetchSettings {
  return {
    dataDir: settings.dataDir,
    fileBase: localBase ?? settings.dataDir,
    fileRoots: localBase ? [settings.dataDir, localBase] : [settings.dataDir],
    maxBytes: settings.maxBlobBytes,
    allowHttp: settings.allowHttp,
    registryAuthFile: settings.registryAuthFile,
  };
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): HostSettings {
  return {
    mode: env.IOTEDGE_WORKLOADURI || env.EdgeHubConnectionString ? 'edge' : 'local',
    dataDir: resolve(env.WASMHOST_DATA_DIR || './.wasmhost'),
    desiredFile: resolve(env.WASMHOST_DESIRED_FILE || './workloads.local.json'),
    allowUnpinned: flag(env.WASMHOST_ALLOW_UNPINNED),
    allowHttp: flag(env.WASMHOST_ALLOW_HTTP),
    maxBlobBytes: positive(env.WASMHOST_MAX_BLOB_MB, 64) * 1024 * 1024,
    registryAuthFile: env.WASMHOST_REGISTRY_AUTH_FILE || undefined,
    outboxMaxBytes: positive(env.WASMHOST_OUTBOX_MAX_MB, 64) * 1024 * 1024,
    outboxTotalMaxBytes: positive(env.WASMHOST_OUTBOX_TOTAL_MB, 512) * 1024 * 1024,
    outboxTtlMs: positive(env.WASMHOST_OUTBOX_TTL_SECS, 7200) * 1000,
    outboxFsync: (['always', 'interval', 'never'] as const).find((p) => p === env.WASMHOST_OUTBOX_FSYNC) ?? 'interval',
    metricsPort: port(env.WASMHOST_METRICS_PORT, 9600),
    adminPort: port(env.WASMHOST_ADMIN_PORT, 9601),
    mqttPort: port(env.WASMHOST_MQTT_PORT, 1883),
    mqttWsPort: port(env.WASMHOST_MQTT_WS_PORT, 9001),
    mqttAllowAnonymous: flag(env.WASMHOST_MQTT_ALLOW_ANONYMOUS),
    mqttClientRate: positive(env.WASMHOST_MQTT_CLIENT_RATE, 2000),
    mqttTotalRate: positive(env.WASMHOST_MQTT_TOTAL_RATE, 5000),
    logLevel: parseLogLevel(env.RuntimeLogLevel),
    pacedGc: env.WASMHOST_PACED_GC === undefined || flag(env.WASMHOST_PACED_GC),
  };
}

function flag(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value);
}

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value && Number.isFinite(n) && n > 0 ? n : fallback;
}

function port(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : fallback;
}
