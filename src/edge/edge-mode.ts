import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMethodHandlers, dispatchMethod } from '../methods/index.js';
import { Operations, type Logger } from '../ops/index.js';
import { Engine } from '../runtime/index.js';
import { Fetcher } from '../fetch/index.js';
import { Outbox } from '../outbox/index.js';
import { fetchSettings, type HostSettings } from '../settings.js';
import { EDGEHUB_MAX_MESSAGE_BYTES, mergePatch, SCHEMA_VERSION, validateDesired } from '../spec/index.js';
import { Supervisor, type WorkloadSample } from '../supervisor/index.js';
import { EdgeConnection } from './connection.js';
import { EdgeSink } from './edge-sink.js';
import type { ModuleLink, TwinDocument } from './module-link.js';
import { Reporter, type ReportedDocument } from './reporter.js';

async function saveLastDesired(file: string, version: number, desired: Record<string, unknown>): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify({ version, desired }));
  await rename(tmp, file);
}

async function loadLastDesired(file: string): Promise<{ version: number; desired: Record<string, unknown> } | undefined> {
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as { version?: unknown; desired?: unknown };
    return typeof saved.version === 'number' && saved.desired && typeof saved.desired === 'object' ? { version: saved.version, desired: saved.desired as Record<string, unknown> } : undefined;
  } catch {
    return undefined;
  }
}

/** IoT Edge stops a module with SIGTERM and kills it after a grace period (10 s by default in Docker). */
const SHUTDOWN_FLUSH_MS = 5000;
/** Sends in flight per outbox: enough to keep the MQTT pipe full (field notes: ~34k msg/s at 100). */
const SEND_WINDOW = 100;

export interface EdgeHost {
  readonly supervisor: Supervisor;
  close(): Promise<void>;
}

/**
 * IoT Edge mode: desired state from the module twin, telemetry to edgeHub outputs, edgeHub inputs to
 * workloads, operator methods as direct methods, status as reported properties.
 */
export async function startEdgeMode(settings: HostSettings, log: Logger, version: string): Promise<EdgeHost> {
  const startedAt = new Date();
  const sink = new EdgeSink(log);
  let desired: Record<string, unknown> = {};
  let desiredVersion = 0;
  let appliedDesiredVersion: number | null = null;
  let desiredErrors: string[] = [];

  const outbox = new Outbox(
    { dir: join(settings.dataDir, 'outbox'), capBytes: settings.outboxMaxBytes, ttlMs: settings.outboxTtlMs, fsync: settings.outboxFsync, window: SEND_WINDOW },
    (message) => sink.sendAcked(message),
    log,
  );
  outbox.recover(); // what a crash or kill left unsent goes out first
  const operations = new Operations((): WorkloadSample[] => supervisor.samples());
  const supervisor = new Supervisor({
    meter: operations.meter,
    listenHost: '0.0.0.0', // other modules reach a workload's port over the module network
    outbox,
    engine: new Engine(join(settings.dataDir, 'compiled')),
    fetcher: new Fetcher(fetchSettings(settings)),
    dataDir: settings.dataDir,
    sink,
    log,
    onStatusChange: () => reporter.schedule(),
  });
  const reporter = new Reporter((): ReportedDocument => ({
    schemaVersion: SCHEMA_VERSION,
    host: { version, node: process.version, startedAt: startedAt.toISOString(), appliedDesiredVersion, desiredErrors },
    workloads: Object.fromEntries(supervisor.list().map(({ name, ...status }) => [name, { ...status }])),
  }), log);
  const handlers = createMethodHandlers(supervisor, { version, startedAt: startedAt.getTime() });
  // Every interface, as edgeHub serves its metrics: the metrics-collector module scrapes over the module network.
  await operations.listen(settings.metricsPort, '0.0.0.0', log);

  // One apply at a time (Supervisor.apply queues); each applies the newest desired document.
  const apply = async () => {
    const version = desiredVersion;
    const doc = desired;
    const validated = validateDesired(doc, { allowUnpinned: settings.allowUnpinned });
    const result = await supervisor.apply(validated, version);
    desiredErrors = validated.documentInvalid ? result.errors.slice(0, 20) : [];
    if (!validated.documentInvalid) {
      appliedDesiredVersion = version;
      await saveLastDesired(lastDesiredFile, version, doc).catch((err: Error) => log.warn(`cannot save the desired state: ${err.message}`));
    }
    reporter.schedule();
  };

  // Offline start: until the twin can be read, run what was last applied (cached blobs need no network).
  const lastDesiredFile = join(settings.dataDir, 'desired.last.json');
  const last = await loadLastDesired(lastDesiredFile);
  if (last) {
    log.info(`applying the last desired state (version ${last.version}) until the twin is read`);
    desired = last.desired;
    desiredVersion = last.version;
    void apply();
  }

  const connection = new EdgeConnection(
    {
      setup(link: ModuleLink) {
        link.onMethods(Object.keys(handlers), (name, payload, reply) => void dispatchMethod(handlers, name, payload).then((r) => reply(r.status, r.payload)));
        link.onInput((message) => {
          if (message.body.length > EDGEHUB_MAX_MESSAGE_BYTES) return log.warn(`input ${message.input}: message of ${message.body.length} bytes dropped`);
          supervisor.deliverInput(message.input, { body: message.body, contentType: message.contentType, properties: message.properties });
        });
        sink.attach(link);
      },
      twin(twin: TwinDocument, link: ModuleLink) {
        const version = Number(twin.desired.$version ?? 0);
        log.info(`twin read: desired version ${version}`);
        desired = twin.desired;
        desiredVersion = version;
        reporter.attach(link, twin.reported);
        void apply();
      },
      desiredPatch(patch: Record<string, unknown>, link: ModuleLink) {
        const version = Number(patch.$version ?? 0);
        if (version <= desiredVersion) return log.debug(`desired patch ${version} dropped: already at ${desiredVersion}`);
        if (version > desiredVersion + 1) {
          log.info(`desired patch ${version} skips versions after ${desiredVersion}; reading the whole twin`);
          return void link.getTwin().then((twin) => this.twin(twin, link), (err: Error) => log.warn(`twin read failed: ${err.message}`));
        }
        desired = mergePatch(desired, patch);
        desiredVersion = version;
        log.info(`desired patch ${version} received`);
        void apply();
      },
      lost() {
        sink.detach();
        reporter.detach();
      },
    },
    log,
  );
  void connection.start();

  return {
    supervisor,
    async close() {
      operations.stopping();
      await supervisor.shutdown();
      if (!(await outbox.flush(SHUTDOWN_FLUSH_MS))) log.warn(`shutdown: telemetry still unsent after ${SHUTDOWN_FLUSH_MS} ms stays in the outbox for the next start`);
      outbox.close();
      log.debug('workloads stopped, telemetry sent; flushing reported properties');
      await reporter.flush().catch(() => undefined);
      log.debug('closing the edgeHub connection');
      await connection.stop();
      await operations.close();
      log.debug('closed');
    },
  };
}
