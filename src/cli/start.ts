import { startLocalMode } from '../local/index.js';
import { createLogger } from '../ops/index.js';
import { readSettings } from '../settings.js';

/** `wasmhost start`: the long-running host. Ends cleanly (exit 0) on SIGTERM, as IoT Edge stops modules. */
export async function startCommand(version: string): Promise<number> {
  const settings = readSettings();
  const log = createLogger(settings.logLevel);
  if (settings.mode === 'edge') {
    log.error('IoT Edge mode (IOTEDGE_WORKLOADURI is set) is not available in this build; unset it to run local mode');
    return 1;
  }
  if (settings.allowUnpinned) log.warn('WASMHOST_ALLOW_UNPINNED is on: sources without sha256 are accepted (development only)');
  const host = await startLocalMode(settings, log, version);
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal}: stopping workloads`);
      void host.close().then(() => resolve(0));
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
  });
}
