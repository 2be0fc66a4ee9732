import { startEdgeMode } from '../edge/index.js';
import { startLocalMode } from '../local/index.js';
import { createLogger, hostLabels, NO_TRACING, openTelemetry } from '../ops/index.js';
import { readSettings } from '../settings.js';
import { compacting, fullCollection, HOST_PACING, paceCollections } from '../runtime/paced-gc.js';

const SHUTDOWN_DEADLINE_MS = 9000;

/** `wasmhost start`: the long-running host. Ends cleanly (exit 0) on SIGTERM, as IoT Edge stops modules. */
export async function startCommand(version: string): Promise<number> {
  const settings = readSettings();
  // First: no worker thread of this process runs yet. Paced collections compact (paced-gc.ts).
  if (settings.pacedGc) paceCollections(compacting(fullCollection()), HOST_PACING);
  // OpenTelemetry export when OTEL_EXPORTER_OTLP_ENDPOINT is set (off, and free, otherwise).
  const tracing = openTelemetry(process.env, { 'service.version': version, 'service.instance.id': hostLabels().instance_number });
  const log = createLogger(settings.logLevel, undefined, tracing === NO_TRACING ? undefined : (level, text) => tracing.log(level, text));
  // Last resort: a promise nobody awaited must not end a host that serves every workload. It is a bug,
  // so it is logged as an error with its stack, never swallowed in silence.
  process.on('unhandledRejection', (reason) => log.error(`unhandled rejection: ${reason instanceof Error ? reason.stack ?? reason.message : String(reason)}`));
  if (settings.allowUnpinned) log.warn('WASMHOST_ALLOW_UNPINNED is on: sources without sha256 are accepted (development only)');
  log.info(`wasmhost ${version} starting in ${settings.mode === 'edge' ? 'IoT Edge' : 'local'} mode; data in ${settings.dataDir}`);
  const host = settings.mode === 'edge' ? await startEdgeMode(settings, log, version, tracing) : await startLocalMode(settings, log, version, tracing);
  return new Promise<number>(() => {
    const stop = (signal: string) => {
      log.info(`${signal}: stopping workloads`);
      // Exit explicitly once closed, so that no leftover handle (an SDK timer, a socket) holds the
      // process; and exit anyway if closing hangs, before IoT Edge's grace period runs out.
      setTimeout(() => {
        log.error(`shutdown did not finish within ${SHUTDOWN_DEADLINE_MS} ms; exiting`);
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
      void host.close().then(() => tracing.close()).then(() => process.stdout.write('', () => process.exit(0)));
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
  });
}
