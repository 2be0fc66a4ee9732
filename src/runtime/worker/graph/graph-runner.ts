import type { GraphNodePlan, GraphPlan, GuestMessage } from '../../protocol.js';
import type { GuestFn } from '../exports.js';
import { emptyMessage, toDataModel, toGuestMessage, wireTimestamp, type DataModel } from './data-model.js';
import { hlcNanos, isHlc, type HybridClock, type Hlc } from './hlc.js';
import type { GraphMeter } from './operator-metrics.js';

/** An operator node's export (map, filter, ...): `init` and `process`. */
export type OperatorExport = Record<string, GuestFn>;

/** A message on its way through the graph: its data and the timestamp the graph orders it by. */
interface Item {
  dm: DataModel;
  at: Hlc;
}

/** One accumulate window: messages of one timestamp, folded into `staged` in chunks as they come. */
interface Window {
  readonly at: Hlc;
  staged: DataModel;
  pending: DataModel[];
  /** What it holds (staged and pending payloads), counted against MAX_WINDOW_BYTES. */
  bytes: number;
}

/** Messages an accumulate folds in one call; more arriving for an open window are folded early. */
const FOLD_CHUNK = 64;
/** Open windows per accumulate node: a delay that scatters timestamps cannot make them grow without end. */
export const MAX_OPEN_WINDOWS = 1024;
/** How far ahead of the wall clock a delay may move a timestamp (a window that would stay open for days is a bug). */
export const MAX_DELAY_MS = 3_600_000;
/** Bytes all of a graph's open windows may hold: the worker's heap (128 MB) must never be what runs out. */
export const MAX_WINDOW_BYTES = 16 * 1024 * 1024;
/** Copies of one message alive in the graph at once (every branch and fan-out counted). */
const MAX_ITEMS_PER_MESSAGE = 1024;

/** An operator's `err` (result<_, error>): the message fails at that node, the instance lives. */
export class OperatorError extends Error {}

export interface GraphRunnerDeps {
  readonly plan: GraphPlan;
  /** The export of each operator node's own instance, by node index. */
  readonly operators: ReadonlyMap<number, OperatorExport>;
  readonly clock: HybridClock;
  readonly meter: GraphMeter;
  /** A failed message, for the workload's log. */
  warn(text: string): void;
  /** Telemetry from a sink (throws a string when refused: budget, size). */
  send(msg: GuestMessage): void;
}

/**
 * Runs one graph workload's messages through its nodes (design.md "Azure IoT Operations data flow
 * graphs"): source -> operators -> sink, in the worker, one message at a time. A trap in an operator
 * propagates (the instance is unusable: the workload's restart policy applies); an operator's `err` fails
 * that message at that node, counted and logged, and the graph runs on.
 */
export class GraphRunner {
  readonly #deps: GraphRunnerDeps;
  readonly #windows = new Map<number, Map<string, Window>>();
  #windowBytes = 0;

  constructor(deps: GraphRunnerDeps) {
    this.#deps = deps;
  }

  /** Calls every operator's `init` with its configuration; one returning false fails the start. */
  init(): void {
    for (const [index, operator] of this.#deps.operators) {
      const node = this.#deps.plan.nodes[index]!;
      const ok = operator.init!({ properties: node.properties.map(([k, v]) => [k, v]), moduleSchemas: [] });
      if (ok !== true) throw `init of graph node ${node.name} returned false`;
    }
  }

  /** A message from an input or a subscribed topic enters at every source node. */
  message(topic: string, msg: GuestMessage): void {
    const at = this.#deps.clock.now();
    const dm = toDataModel(topic, msg, at);
    this.#deps.plan.nodes.forEach((node, index) => {
      if (node.type === 'source') this.#run([{ node: index, item: { dm, at } }]);
    });
  }

  /** Closes the windows whose timestamp the wall clock has passed, and sends on what they folded. */
  tick(): void {
    const now = this.#deps.clock.wallNanos();
    for (const [index, windows] of this.#windows) {
      for (const [key, window] of windows) {
        if (hlcNanos(window.at) >= now) continue;
        windows.delete(key);
        const node = this.#deps.plan.nodes[index]!;
        const staged = this.#guard(node, () => this.#fold(index, window));
        this.#windowBytes -= window.bytes; // after the fold: what the window held is its staged value
        if (staged) this.#run(this.#forward(node, { dm: staged, at: window.at }));
      }
    }
  }

  /** Runs items breadth-first until each reaches a sink, is dropped or fails. */
  #run(queue: Array<{ node: number; item: Item }>): void {
    let alive = queue.length;
    while (queue.length) {
      const { node: index, item } = queue.shift()!;
      const node = this.#deps.plan.nodes[index]!;
      this.#deps.meter.count(node.name, 'in');
      const next = this.#guard(node, () => this.#visit(index, node, item));
      if (!next) continue;
      alive += next.length;
      if (alive > MAX_ITEMS_PER_MESSAGE) {
        this.#failed(node, `more than ${MAX_ITEMS_PER_MESSAGE} copies of one message in the graph`);
        return;
      }
      queue.push(...next);
    }
  }

  /** What one node makes of an item: where it goes next (nothing: dropped, kept in a window, or sent). */
  #visit(index: number, node: GraphNodePlan, item: Item): Array<{ node: number; item: Item }> {
    const op = this.#deps.operators.get(index);
    switch (node.type) {
      case 'source':
      case 'concatenate':
        return this.#forward(node, item);
      case 'sink':
        try {
          this.#deps.send(toGuestMessage(item.dm));
        } catch (refusal) {
          if (typeof refusal === 'string') throw new OperatorError(`telemetry refused: ${refusal}`);
          throw refusal;
        }
        this.#deps.meter.count(node.name, 'out');
        return [];
      case 'map':
        return this.#forward(node, { dm: call(op!, 'process', item.dm) as DataModel, at: item.at });
      case 'filter':
        if (call(op!, 'process', item.dm) === true) return this.#forward(node, item);
        this.#deps.meter.count(node.name, 'dropped');
        return [];
      case 'branch': {
        const arm = call(op!, 'process', item.at, item.dm) === true;
        this.#deps.meter.count(node.name, arm ? 'true' : 'false');
        return (arm ? node.branchTrue : node.branchFalse).map((to) => ({ node: to, item }));
      }
      case 'delay': {
        const at = call(op!, 'process', item.dm, item.at);
        if (!isHlc(at)) throw new OperatorError('delay returned an invalid timestamp');
        if (hlcNanos(at) > this.#deps.clock.wallNanos() + BigInt(MAX_DELAY_MS) * 1_000_000n) throw new OperatorError(`delay moved the timestamp more than ${MAX_DELAY_MS / 60_000} minutes ahead`);
        const dm = item.dm.tag === 'message' ? { tag: 'message' as const, val: { ...item.dm.val, timestamp: wireTimestamp(at) } } : item.dm;
        return this.#forward(node, { dm, at: { timestamp: at.timestamp, counter: at.counter, nodeId: at.nodeId } });
      }
      case 'accumulate':
        this.#collect(index, item);
        return [];
      default:
        throw new TypeError(`unknown node type ${String(node.type)}`);
    }
  }

  #forward(node: GraphNodePlan, item: Item): Array<{ node: number; item: Item }> {
    this.#deps.meter.count(node.name, 'out');
    return node.next.map((to) => ({ node: to, item }));
  }

  /** Keeps an item in its window (one per timestamp) until the clock passes it; folds early past a chunk. */
  #collect(index: number, item: Item): void {
    const windows = this.#windows.get(index) ?? new Map<string, Window>();
    this.#windows.set(index, windows);
    const key = `${hlcNanos(item.at)}:${item.at.counter}:${item.at.nodeId}`;
    let window = windows.get(key);
    if (!window) {
      if (windows.size >= MAX_OPEN_WINDOWS) throw new OperatorError(`${MAX_OPEN_WINDOWS} windows are open already`);
      window = { at: item.at, staged: emptyMessage(item.at), pending: [], bytes: 0 };
      windows.set(key, window);
    }
    this.#hold(window, dataModelBytes(item.dm));
    window.pending.push(item.dm);
    if (window.pending.length >= FOLD_CHUNK) window.staged = this.#fold(index, window);
  }

  #fold(index: number, window: Window): DataModel {
    const op = this.#deps.operators.get(index)!;
    const pending = window.pending;
    window.pending = [];
    if (!pending.length) return window.staged;
    try {
      window.staged = call(op, 'process', window.staged, pending) as DataModel;
    } finally {
      // The pending messages are gone either way (folded, or failed with the fold): the window holds its staged value.
      const delta = dataModelBytes(window.staged) - window.bytes;
      window.bytes += delta;
      this.#windowBytes += delta;
    }
    if (this.#windowBytes > MAX_WINDOW_BYTES) throw new OperatorError(`open windows hold more than ${MAX_WINDOW_BYTES / 1048576} MB`);
    return window.staged;
  }

  /** Counts `delta` bytes more (or fewer) held in `window`; past MAX_WINDOW_BYTES the message fails. */
  #hold(window: Window, delta: number): void {
    if (delta > 0 && this.#windowBytes + delta > MAX_WINDOW_BYTES) throw new OperatorError(`open windows would hold more than ${MAX_WINDOW_BYTES / 1048576} MB`);
    window.bytes += delta;
    this.#windowBytes += delta;
  }

  /** Runs a node's step: an operator's err fails the message there (counted, logged); anything else (a trap) ends the call. */
  #guard<T>(node: GraphNodePlan, step: () => T): T | undefined {
    try {
      return step();
    } catch (err) {
      if (err instanceof OperatorError || err instanceof TypeError) {
        this.#failed(node, err.message);
        return undefined;
      }
      this.#deps.meter.count(node.name, 'error');
      throw err;
    }
  }

  #failed(node: GraphNodePlan, why: string): void {
    this.#deps.meter.count(node.name, 'error');
    this.#deps.warn(`graph node ${node.name}: message failed: ${why}`);
  }
}

/** About what a data-model holds in the worker's heap: its payload (or frame) and topic. */
function dataModelBytes(dm: DataModel): number {
  const size = (b: { tag: string; val: unknown }) => (b.tag === 'bytes' ? (b.val as Uint8Array).byteLength : 0);
  if (dm.tag === 'message') return size(dm.val.payload) + size(dm.val.topic);
  if (dm.tag === 'snapshot') return size(dm.val.frame);
  return size(dm.val);
}

/**
 * Calls an operator export. jco throws a guest's `err` (the WIT `error` record, { message }) as it is,
 * not as an Error: that becomes an OperatorError. Traps (WebAssembly.RuntimeError) and host errors pass through.
 */
function call(op: OperatorExport, fn: 'process', ...args: unknown[]): unknown {
  try {
    return op[fn]!(...args);
  } catch (err) {
    if (err instanceof Error) throw err;
    const message = (err as { message?: unknown } | undefined)?.message;
    throw new OperatorError(typeof message === 'string' ? message.slice(0, 1024) : 'error');
  }
}
