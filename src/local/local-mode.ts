import { dirname, join } from 'node:path';
import { Engine } from '../runtime/index.js';
import { createMethodHandlers } from '../methods/index.js';
import { NO_TRACING, Operations, type Logger, type Tracing } from '../ops/index.js';
import { Fetcher } from '../fetch/index.js';
import { fetchSettings, type HostSettings } from '../settings.js';
import { DesiredState } from '../desired/index.js';
import type { WorkloadSample } from '../base/index.js';
import { Supervisor } from '../supervisor/index.js';
import { startLocalBroker } from '../broker/index.js';
import { startAdminServer } from './admin-server.js';
import { readDesiredFile, watchDesiredFile } from './desired-file.js';
import { LocalSink } from './local-sink.js';

export interface LocalHost {
  readonly supervisor: Supervisor;
  readonly adminPort: number;
  /** Resolves after the current desired file has been applied (used by tests and at start). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Local mode (design.md "Modes"): desired state from a JSON file, applied again on every edit;
 * telemetry as JSON lines on stdout and in files; methods on an admin endpoint on 127.0.0.1.
 */
export async function startLocalMode(settings: HostSettings, log: Logger, version: string, tracing: Tracing = NO_TRACING): Promise<LocalHost> {
  const sink = new LocalSink(join(settings.dataDir, 'outputs'));
  const operations = new Operations((): WorkloadSample[] => supervisor.samples(), undefined, tracing);
  const engine = new Engine(join(settings.dataDir, 'compiled'), { pacedGc: settings.pacedGc });
  operations.metrics.runnerMeter(() => engine.runnerStats());
  const supervisor = new Supervisor({
    onTopicPublish: (topic, msg) => broker?.publish(topic, msg),
    meter: operations.meter,
    engine,
    // Local mode runs the user's own files: relative sources resolve beside the desired file.
    fetcher: new Fetcher(fetchSettings(settings, dirname(settings.desiredFile))),
    dataDir: settings.dataDir,
    sink,
    log,
  });
  const broker = await startLocalBroker(settings, '127.0.0.1', log, operations.metrics, (topic, msg) => supervisor.deliverTopic(topic, msg));
  const handlers = createMethodHandlers(supervisor, { version, startedAt: Date.now() }, broker);
  const admin = await startAdminServer(settings.adminPort, handlers, supervisor);
  log.info(`local mode: desired state from ${settings.desiredFile}; admin endpoint http://127.0.0.1:${admin.port}/methods/<name>`);
  await operations.listen(settings.metricsPort, '127.0.0.1', log);

  const desired = new DesiredState({
    allowUnpinned: settings.allowUnpinned,
    log,
    apply: async (validated) => {
      if (!validated.documentInvalid) broker?.configure(validated.brokerClients);
      const result = await supervisor.apply(validated);
      for (const error of result.errors) log.error(`desired: ${error}`);
      return result;
    },
  });
  const reload = async () => {
    const read = await readDesiredFile(settings.desiredFile);
    if (!read.ok) return log.error(`${read.error}; keeping the workloads as they are`);
    await desired.replace(read.doc, null);
  };
  await reload();
  const unwatch = watchDesiredFile(settings.desiredFile, () => {
    log.info(`${settings.desiredFile} changed; applying`);
    reload().catch((err: Error) => log.error(`desired: ${err.message}`));
  });
  return {
    supervisor,
    adminPort: admin.port,
    reload,
    async close() {
      operations.stopping();
      unwatch();
      await new Promise((r) => admin.close(r));
      await supervisor.shutdown();
      await broker?.close();
      await sink.close();
      await operations.close();
    },
  };
}
