import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkloadMeter, WorkloadSample } from '../base/index.js';
import type { Logger } from './logger.js';
import { HostMetrics, hostLabels, type HostLabels } from './metrics.js';
import { NO_TRACING, type Tracing } from './open-telemetry.js';
import { boundServer } from '../bounded-server.js';

/** Scrapers and probes, a handful at a time. */
const MAX_CONNECTIONS = 64;

/** What `/health` answers: liveness of the host, not of any one workload (a failed guest is no reason to restart the module). */
export interface HealthReport {
  readonly status: 'ok' | 'stopping';
  readonly uptimeSeconds: number;
  readonly workloads: Readonly<Record<string, number>>;
}

/**
 * The operations endpoint (design.md: Prometheus `GET /metrics` and liveness `GET /health` on port 9600,
 * as edgeHub and edgeAgent serve them) and the metrics behind it. Both modes make one before their
 * supervisor, hand it `meter`, and close it last.
 */
export class Operations {
  readonly metrics: HostMetrics;
  readonly #samples: () => WorkloadSample[];
  readonly #startedAt = Date.now();
  #server: Server | undefined;
  #stopping = false;

  constructor(samples: () => WorkloadSample[], labels: HostLabels = hostLabels(), readonly tracing: Tracing = NO_TRACING) {
    this.#samples = samples;
    this.metrics = new HostMetrics(labels, samples);
  }

  /** A workload's meter: its metrics, and spans for its calls when OpenTelemetry export is on. */
  readonly meter = (workload: string): WorkloadMeter => this.tracing.meter(workload, this.metrics.meter(workload));

  /**
   * Serves on `port` (0: off). A port already taken is logged and the host runs on without the
   * endpoint: observability must not stop work. Resolves to the bound port, if any.
   */
  async listen(port: number, host: string, log: Logger): Promise<number | undefined> {
    if (port === 0) return undefined;
    const server = boundServer(createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET' }).end();
      if (path === '/metrics') {
        this.metrics.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.metrics.contentType }).end(text),
          (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message),
        );
      } else if (path === '/health') {
        const report = this.health();
        res.writeHead(report.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(report));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics or /health\n');
      }
    }), MAX_CONNECTIONS);
    try {
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
    } catch (err) {
      log.warn(`metrics endpoint not started on ${host}:${port}: ${(err as Error).message}`);
      return undefined;
    }
    this.#server = server;
    const bound = (server.address() as AddressInfo).port;
    log.info(`metrics on http://${host}:${bound}/metrics, liveness on /health`);
    return bound;
  }

  health(): HealthReport {
    const workloads: Record<string, number> = {};
    for (const { status } of this.#samples()) workloads[status] = (workloads[status] ?? 0) + 1;
    return { status: this.#stopping ? 'stopping' : 'ok', uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000), workloads };
  }

  /** Shutdown has begun: liveness answers 503 from now on, metrics are still served. */
  stopping(): void {
    this.#stopping = true;
  }

  close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
