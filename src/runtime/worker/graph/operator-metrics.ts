import type { Effect, NodeOutcome } from '../../protocol.js';

type MetricsError = { tag: 'incompatible-type'; val: string } | { tag: 'lock-error'; val: string };
type Label = { key: string; value: string };

const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Set by the host on every operator series (and Prometheus' own): an operator may not use them. */
const RESERVED_LABELS = new Set(['workload', 'node', 'name', 'le', 'iothub', 'edge_device', 'instance_number']);
const MAX_LABELS = 8;
const MAX_LABEL_VALUE_CHARS = 128;
/** Series (name and labels) one graph workload may make: Prometheus holds every one until the workload goes. */
export const MAX_OPERATOR_SERIES = 200;
/** Histogram observations carried per batch; more in one batch are folded into fewer, not lost (see take). */
const MAX_OBSERVATIONS = 4096;

type GraphMetricsEffect = Extract<Effect, { type: 'graph-metrics' }>;

function fail(error: MetricsError): never {
  throw error;
}

/**
 * What a graph's operators measure (wasm-graph:processor's `metrics`) and what the graph counts per
 * node, gathered in the worker and posted once per call as one effect; the host keeps the series.
 */
export class GraphMeter {
  readonly #types = new Map<string, 'counter' | 'histogram'>();
  readonly #series = new Set<string>();
  #counters = new Map<string, GraphMetricsEffect['counters'][number]>();
  #histograms = new Map<string, GraphMetricsEffect['histograms'][number]>();
  #observations = 0;
  #nodes = new Map<string, GraphMetricsEffect['nodes'][number]>();

  /** A message's fate at a node. */
  count(node: string, outcome: NodeOutcome, n = 1): void {
    const key = `${node}\u0000${outcome}`;
    const seen = this.#nodes.get(key);
    if (seen) seen[2] += n;
    else this.#nodes.set(key, [node, outcome, n]);
  }

  /** The `metrics` import of the operator at `node`. */
  imports(node: string): Record<string, unknown> {
    return {
      addToCounter: (name: string, value: { tag: string; val: bigint }, labels: Label[] | undefined) => {
        if (value?.tag !== 'u64' || typeof value.val !== 'bigint') fail({ tag: 'incompatible-type', val: 'a counter takes a u64' });
        const key = this.#seriesKey(node, name, 'counter', labels);
        const seen = this.#counters.get(key);
        if (seen) seen.value += Number(value.val);
        else this.#counters.set(key, { node, name, labels: pairs(labels), value: Number(value.val) });
      },
      recordToHistogram: (name: string, value: { tag: string; val: bigint | number }, labels: Label[] | undefined) => {
        const number = value?.tag === 'u64' || value?.tag === 'f64' ? Number(value.val) : NaN;
        if (!Number.isFinite(number)) fail({ tag: 'incompatible-type', val: 'a histogram takes a finite f64 or a u64' });
        const key = this.#seriesKey(node, name, 'histogram', labels);
        const seen = this.#histograms.get(key) ?? { node, name, labels: pairs(labels), values: [] };
        this.#histograms.set(key, seen);
        // Past the batch's bound, values are dropped from the batch and the count says so: a flood costs the worker nothing more.
        if (this.#observations++ < MAX_OBSERVATIONS) seen.values.push(number);
      },
    };
  }

  /** What was measured since the last take, as one effect (undefined when nothing was). */
  take(): GraphMetricsEffect | undefined {
    if (this.#nodes.size === 0 && this.#counters.size === 0 && this.#histograms.size === 0) return undefined;
    const effect: GraphMetricsEffect = { type: 'graph-metrics', nodes: [...this.#nodes.values()], counters: [...this.#counters.values()], histograms: [...this.#histograms.values()] };
    this.#nodes = new Map();
    this.#counters = new Map();
    this.#histograms = new Map();
    this.#observations = 0;
    return effect;
  }

  #seriesKey(node: string, name: string, type: 'counter' | 'histogram', labels: Label[] | undefined): string {
    if (typeof name !== 'string' || !METRIC_NAME.test(name)) fail({ tag: 'incompatible-type', val: `invalid metric name ${JSON.stringify(String(name).slice(0, 80))}: letters, digits and "_"` });
    const list = labels ?? [];
    if (list.length > MAX_LABELS) fail({ tag: 'incompatible-type', val: `at most ${MAX_LABELS} labels` });
    for (const { key, value } of list) {
      if (typeof key !== 'string' || !LABEL_NAME.test(key) || RESERVED_LABELS.has(key)) fail({ tag: 'incompatible-type', val: `invalid label name ${JSON.stringify(String(key).slice(0, 80))}${RESERVED_LABELS.has(key) ? ' (set by the host)' : ''}` });
      if (typeof value !== 'string' || value.length > MAX_LABEL_VALUE_CHARS) fail({ tag: 'incompatible-type', val: `label ${key}: values are strings of at most ${MAX_LABEL_VALUE_CHARS} characters` });
    }
    const typed = `${node}\u0000${name}`;
    const before = this.#types.get(typed);
    if (before && before !== type) fail({ tag: 'incompatible-type', val: `${name} is a ${before}` });
    const key = list.length === 0 ? typed : list.length === 1 ? `${typed}\u0000${list[0]!.key}=${list[0]!.value}` : `${typed}\u0000${list.map((l) => `${l.key}=${l.value}`).sort().join('\u0000')}`;
    if (!this.#series.has(key)) {
      if (this.#series.size >= MAX_OPERATOR_SERIES) fail({ tag: 'incompatible-type', val: `this workload has ${MAX_OPERATOR_SERIES} operator series already (the limit)` });
      this.#series.add(key);
    }
    this.#types.set(typed, type);
    return key;
  }
}

function pairs(labels: Label[] | undefined): Array<[string, string]> {
  return (labels ?? []).map((l) => [l.key, l.value]);
}
