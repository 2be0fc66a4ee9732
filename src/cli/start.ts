import { startEdgeMode } from '../edge/index.js';
import { startLocalMode } from '../local/index.js';
import { createLogger } from '../ops/index.js';
import { readSettings } from '../settings.js';

/** `wasmhost start`: the long-running host. Ends cleanly (exit 0) on SIGTERM, as IoT Edge stops modules. */
export async function startCommand(version: string): Promise<number> {
  const settings = readSettings();
  const log = createLogger(settings.logLevel);
  if (settings.allowUnpinned) log.warn('WASMHOST_ALLOW_UNPINNED is on: sources without sha256 are accepted (development only)');
  log.info(`wasmhost ${version} starting in ${settings.mode === 'edge' ? 'IoT Edge' : 'local'} mode; data in ${settings.dataDir}`);
  const host = settings.mode === 'edge' ? await startEdgeMode(settings, log, version) : await startLocalMode(settings, log, version);
  return new Promise<number>(() => {
    const stop = (signal: string) => {
      log.info(`${signal}: stopping workloads`);
      // Exit explicitly once closed: SDK retry timers from an outage would otherwise hold the process
      // for minutes, and IoT Edge kills a module that outlives its grace period.
      void host.close().then(() => process.stdout.write('', () => process.exit(0)));
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
  });
}
