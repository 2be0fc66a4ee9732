import type { Registry } from 'prom-client';
import type { GraphMeasurements } from '../base/index.js';

/** Buckets for operator histograms: the operator chooses the unit, so a wide spread of decades. */
const BUCKETS = [0.001, 0.01, 0.1, 1, 10, 100, 1000, 10_000, 100_000];

interface Series {
  readonly labels: Record<string, string>;
  value: number;
  /** Histograms: the count in each bucket (cumulative at render), and the sum. */
  buckets?: number[];
  sum?: number;
}

/**
 * The series graph operators make (design.md: `wasmhost_operator_counter_total` and
 * `wasmhost_operator_histogram`, the operator's own labels plus `workload`, `node` and `name`). Operators
 * choose their labels, so these are rendered here rather than by prom-client's fixed-label metrics; each
 * registers with the registry as a metric that prom-client asks for its values at scrape time.
 */
export class OperatorSeries {
  readonly #counters = new Map<string, Series>();
  readonly #histograms = new Map<string, Series>();

  constructor(registry: Registry) {
    const counters = this.#counters;
    const histograms = this.#histograms;
    const metric = (name: string, help: string, type: 'counter' | 'histogram', values: () => Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>) => ({
      name, help, type, aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => undefined,
    });
    registry.registerMetric(metric('wasmhost_operator_counter_total', 'Counters graph operators add to (wasm-graph:processor metrics.add-to-counter), with their own labels', 'counter',
      () => [...counters.values()].map((s) => ({ labels: s.labels, value: s.value }))) as never);
    registry.registerMetric(metric('wasmhost_operator_histogram', 'Values graph operators record (wasm-graph:processor metrics.record-to-histogram), with their own labels', 'histogram',
      () => [...histograms.values()].flatMap((s) => {
        let cumulative = 0;
        return [
          ...BUCKETS.map((le, i) => ({ metricName: 'wasmhost_operator_histogram_bucket', labels: { ...s.labels, le }, value: (cumulative += s.buckets![i]!) })),
          { metricName: 'wasmhost_operator_histogram_bucket', labels: { ...s.labels, le: '+Inf' }, value: s.value },
          { metricName: 'wasmhost_operator_histogram_sum', labels: s.labels, value: s.sum! },
          { metricName: 'wasmhost_operator_histogram_count', labels: s.labels, value: s.value },
        ];
      })) as never);
  }

  add(workload: string, measured: GraphMeasurements): void {
    for (const c of measured.counters) this.#series(this.#counters, workload, c).value += c.value;
    for (const h of measured.histograms) {
      const series = this.#series(this.#histograms, workload, h);
      series.buckets ??= BUCKETS.map(() => 0);
      for (const v of h.values) {
        series.value++;
        series.sum = (series.sum ?? 0) + v;
        const i = BUCKETS.findIndex((le) => v <= le);
        if (i >= 0) series.buckets[i]!++;
      }
    }
  }

  /** A removed workload's series go with it. */
  forget(workload: string): void {
    for (const map of [this.#counters, this.#histograms]) for (const [key, s] of map) if (s.labels.workload === workload) map.delete(key);
  }

  #series(map: Map<string, Series>, workload: string, point: { node: string; name: string; labels: Array<[string, string]> }): Series {
    const key = JSON.stringify([workload, point.node, point.name, point.labels]);
    let series = map.get(key);
    if (!series) {
      // The operator's labels first: the host's own (checked in the worker never to clash) are set last.
      series = { labels: { ...Object.fromEntries(point.labels), workload, node: point.node, name: point.name }, value: 0 };
      map.set(key, series);
    }
    return series;
  }
}
