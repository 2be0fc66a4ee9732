import { context, SpanKind, SpanStatusCode, trace, TraceFlags, type Span, type Tracer } from '@opentelemetry/api';
import { SeverityNumber, type Logger as OtelLogger } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { CallStats, ExportName, LogLevel, OutboundMessage, WorkloadMeter } from '../base/index.js';

/** W3C trace context: `00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const SEVERITY: Record<LogLevel, SeverityNumber> = { trace: SeverityNumber.TRACE, debug: SeverityNumber.DEBUG, info: SeverityNumber.INFO, warn: SeverityNumber.WARN, error: SeverityNumber.ERROR };
const EXPORT_LABEL: Record<ExportName, string> = { init: 'init', onTimer: 'on-timer', onMessage: 'on-message', onMethod: 'on-method', run: 'run', handle: 'handle' };

/** What the host reports through OpenTelemetry; all of it a no-op when no endpoint is set. */
export interface Tracing {
  /** A span per guest call, named by its export (workload, export, duration, outcome). */
  called(workload: string, fn: ExportName, ok: boolean, stats: CallStats): void;
  /** A span from a message's send to edgeHub's acknowledgement, under the trace its `traceparent` names. */
  delivering<T>(message: OutboundMessage, send: () => Promise<T>): Promise<T>;
  /** A host log line as an OTLP log record. */
  log(level: LogLevel, text: string): void;
  /** Wraps a workload's meter so its calls also become spans. */
  meter(workload: string, inner: WorkloadMeter): WorkloadMeter;
  close(): Promise<void>;
}

export const NO_TRACING: Tracing = {
  called: () => undefined,
  delivering: (_message, send) => send(),
  log: () => undefined,
  meter: (_workload, inner) => inner,
  close: () => Promise.resolve(),
};

/**
 * OpenTelemetry export over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the variable every
 * OpenTelemetry SDK reads), off otherwise: then NO_TRACING, and nothing on any hot path changes.
 * Traces and logs are batched and sent in the background; a collector that is away costs dropped
 * batches, never a workload's time.
 */
export function openTelemetry(env: NodeJS.ProcessEnv, attributes: Record<string, string>): Tracing {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  if (!endpoint) return NO_TRACING;
  const resource = resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? 'wasmhost', ...attributes });
  const traces = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }), { scheduledDelayMillis: 1000 })] });
  const logs = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${endpoint}/v1/logs` }), scheduledDelayMillis: 1000 })] });
  const tracer: Tracer = traces.getTracer('wasmhost');
  const logger: OtelLogger = logs.getLogger('wasmhost');
  const called = (workload: string, fn: ExportName, ok: boolean, stats: CallStats) => {
    const end = Date.now();
    const span = tracer.startSpan(EXPORT_LABEL[fn], { kind: SpanKind.INTERNAL, startTime: end - stats.durationMs, attributes: { 'wasmhost.workload': workload, 'wasmhost.export': EXPORT_LABEL[fn], 'wasmhost.outcome': ok ? 'ok' : 'error' } });
    if (!ok) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(end);
  };
  return {
    called,
    async delivering(message, send) {
      const parent = parentContext(message.msg.properties);
      const span: Span = tracer.startSpan('deliver', { kind: SpanKind.PRODUCER, attributes: { 'wasmhost.workload': message.workload, 'wasmhost.output': message.output } }, parent);
      try {
        const result = await send();
        span.end();
        return result;
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        span.end();
        throw err;
      }
    },
    log: (level, text) => logger.emit({ severityNumber: SEVERITY[level], severityText: level.toUpperCase(), body: text }),
    meter: (workload, inner) => ({
      ...inner,
      called(fn, ok, stats) {
        inner.called(fn, ok, stats);
        called(workload, fn, ok, stats);
      },
    }),
    async close() {
      await Promise.all([traces.shutdown(), logs.shutdown()]).catch(() => undefined);
    },
  };
}

/** The context a message's `traceparent` property names, or the active one. */
function parentContext(properties: ReadonlyArray<readonly [string, string]>) {
  const value = properties.find(([key]) => key === 'traceparent')?.[1];
  const m = value ? TRACEPARENT.exec(value) : null;
  if (!m) return context.active();
  return trace.setSpanContext(context.active(), { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16) & TraceFlags.SAMPLED, isRemote: true });
}
