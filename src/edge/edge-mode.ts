import { join } from 'node:path';
import { createMethodHandlers, dispatchMethod } from '../methods/index.js';
import { NO_TRACING, Operations, type Logger, type Tracing } from '../ops/index.js';
import { Engine } from '../runtime/index.js';
import { Fetcher } from '../fetch/index.js';
import { Outbox } from '../outbox/index.js';
import { fetchSettings, type HostSettings } from '../settings.js';
import { DesiredState } from '../desired/index.js';
import { EDGEHUB_MAX_MESSAGE_BYTES, SCHEMA_VERSION } from '../spec/index.js';
import type { WorkloadSample } from '../base/index.js';
import { Supervisor } from '../supervisor/index.js';
import { startLocalBroker } from '../broker/index.js';
import { EdgeConnection } from './connection.js';
import { EdgeSink } from './edge-sink.js';
import { withTimeout, type ModuleLink, type TwinDocument } from './module-link.js';
import { Reporter, type ReportedDocument } from './reporter.js';

/** IoT Edge stops a module with SIGTERM and kills it after a grace period (10 s by default in Docker). */
/** Shutdown's budget within start's 9 s deadline: workloads 3 s at most, then unsent telemetry, then reported properties. */
const SHUTDOWN_FLUSH_MS = 4000;
const SHUTDOWN_REPORT_MS = 1500;
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
export async function startEdgeMode(settings: HostSettings, log: Logger, version: string, tracing: Tracing = NO_TRACING): Promise<EdgeHost> {
  const startedAt = new Date();
  const sink = new EdgeSink(log);

  const outbox = new Outbox(
    { dir: join(settings.dataDir, 'outbox'), capBytes: settings.outboxMaxBytes, totalCapBytes: settings.outboxTotalMaxBytes, ttlMs: settings.outboxTtlMs, fsync: settings.outboxFsync, window: SEND_WINDOW },
    (message) => tracing.delivering(message, () => sink.sendAcked(message)),
    log,
  );
  outbox.recover(); // what a crash or kill left unsent goes out first
  const operations = new Operations((): WorkloadSample[] => supervisor.samples(), undefined, tracing);
  const engine = new Engine(join(settings.dataDir, 'compiled'), { pacedGc: settings.pacedGc });
  operations.metrics.runnerMeter(() => engine.runnerStats());
  const supervisor = new Supervisor({
    onTopicPublish: (topic, msg) => broker?.publish(topic, msg),
    meter: operations.meter,
    listenHost: '0.0.0.0', // other modules reach a workload's port over the module network
    outbox,
    engine,
    fetcher: new Fetcher(fetchSettings(settings)),
    dataDir: settings.dataDir,
    sink,
    log,
    onStatusChange: () => reporter.schedule(),
  });
  const reporter = new Reporter((): ReportedDocument => ({
    schemaVersion: SCHEMA_VERSION,
    host: { version, node: process.version, startedAt: startedAt.toISOString(), appliedDesiredVersion: desired.appliedVersion, desiredErrors: desired.errors },
    workloads: Object.fromEntries(supervisor.list().map(({ name, ...status }) => [name, { ...status }])),
  }), log);
  // The device's broker, on the module network (publish its ports with PortBindings to reach it from outside).
  const broker = await startLocalBroker(settings, '0.0.0.0', log, operations.metrics, (topic, msg) => supervisor.deliverTopic(topic, msg));
  const handlers = createMethodHandlers(supervisor, { version, startedAt: startedAt.getTime() }, broker);
  // Every interface, as edgeHub serves its metrics: the metrics-collector module scrapes over the module network.
  await operations.listen(settings.metricsPort, '0.0.0.0', log);

  const desired = new DesiredState({
    allowUnpinned: settings.allowUnpinned,
    apply: (validated, desiredVersion) => {
      if (!validated.documentInvalid) broker?.configure(validated.brokerClients);
      return supervisor.apply(validated, desiredVersion);
    },
    log,
    lastAppliedFile: join(settings.dataDir, 'desired.last.json'),
    reread: () => connection.reread(),
    onChange: () => reporter.schedule(),
  });
  // Offline start: until the twin can be read, run what was last applied (cached blobs need no network).
  await desired.restoreLastApplied();

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
      twinReadStarted: () => desired.readStarted(),
      twinReadFailed: () => desired.readFailed(),
      twin(twin: TwinDocument, link: ModuleLink) {
        const version = Number(twin.desired.$version ?? 0);
        log.info(`twin read: desired version ${version}`);
        reporter.attach(link, twin.reported);
        void desired.replace(twin.desired, version);
      },
      desiredPatch: (patch: Record<string, unknown>) => desired.patch(patch),
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
      await broker?.close();
      if (!(await outbox.flush(SHUTDOWN_FLUSH_MS))) log.warn(`shutdown: telemetry still unsent after ${SHUTDOWN_FLUSH_MS} ms stays in the outbox for the next start`);
      outbox.close();
      log.debug('workloads stopped, telemetry sent; flushing reported properties');
      // An update edgeHub does not answer (a link still settling after it came back) must not hold the
      // exit past the deadline: what it would have said is reported again at the next start.
      await withTimeout('reported properties at shutdown', SHUTDOWN_REPORT_MS, reporter.flush()).catch((err: Error) => log.warn(`shutdown: ${err.message}`));
      log.debug('closing the edgeHub connection');
      await connection.stop();
      await operations.close();
      log.debug('closed');
    },
  };
}
