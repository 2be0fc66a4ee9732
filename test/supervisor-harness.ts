// One Supervisor the way the in-process tests need it: a real engine (and runner), file sources from
// the built guests, a fast backoff; each test names only what it changes.
import { join } from 'node:path';
import { Engine } from '../dist/runtime/index.js';
import { Fetcher } from '../dist/fetch/index.js';
import { createLogger } from '../dist/ops/index.js';
import { Supervisor, type SupervisorOptions } from '../dist/supervisor/index.js';
import { GUESTS } from './helpers.js';

export interface HarnessOptions extends Partial<SupervisorOptions> {
  /** Folders file:// sources may come from besides the built guests; plain HTTP sources allowed, retried quickly. */
  readonly fileRoots?: readonly string[];
}

export function testSupervisor(dataDir: string, { fileRoots = [], ...options }: HarnessOptions = {}): Supervisor {
  return new Supervisor({
    engine: new Engine(join(dataDir, 'compiled')),
    fetcher: new Fetcher({ dataDir, fileBase: GUESTS, fileRoots: [GUESTS, ...fileRoots], maxBytes: 64 * 1024 * 1024, allowHttp: true, retry: { attempts: 3, baseMs: 50 } }),
    dataDir,
    sink: { send: () => undefined },
    log: createLogger('error', () => undefined),
    backoff: { baseMs: 100, maxMs: 400, resetAfterMs: 60_000 },
    ...options,
  });
}
