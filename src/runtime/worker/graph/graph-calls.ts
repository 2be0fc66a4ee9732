import { operatorInterface, type OperatorType } from '../../../base/index.js';
import type { GraphPlan, GuestMessage, HandlerCall } from '../../protocol.js';
import { entry, type Exports } from '../exports.js';
import type { EffectBuffer } from '../effects.js';
import type { GuestLog } from '../guest-log.js';
import type { KvStore } from '../kv-store.js';
import { GraphRunner, type OperatorExport } from './graph-runner.js';
import { HybridClock } from './hlc.js';
import { operatorImports } from './operator-imports.js';
import { GraphMeter } from './operator-metrics.js';
import { stateStoreImports } from './state-store.js';

/** How long a graph's counts may wait before they are sent to the host. */
const METRICS_MS = 250;


interface Prepared {
  fresh(component: number, extra: Record<string, unknown>): Exports;
  readonly shared: Record<string, unknown>;
  readonly kv: KvStore | undefined;
  readonly log: GuestLog;
}

/**
 * A graph workload's side of the worker: an instance per operator node (its own memory, its own
 * limits), made now; the calls the host sends run the graph: `init` every operator's init, `onMessage`
 * a message from the source on, `onTimer` the windows the clock has passed. What the graph measured goes
 * out with each call's effects.
 */
export function graphCalls(plan: GraphPlan, prepared: Prepared, effects: EffectBuffer, workload: string): (call: HandlerCall) => unknown {
  const clock = new HybridClock(workload);
  const meter = new GraphMeter();
  // One state store for every node: it keeps decoded entries, which stay true only while it is the one writer.
  const stateStore = stateStoreImports(prepared.kv, clock);
  const operators = new Map<number, OperatorExport>();
  plan.nodes.forEach((node, index) => {
    if (node.component === undefined) return;
    const exports = prepared.fresh(node.component, operatorImports(node.name, { log: prepared.log, meter, stateStore }));
    // jco names an export both by interface (`wasm-graph:processor/map@1.1.0`) and by its short name (`map`).
    const op = entry(exports, operatorInterface(node.type as OperatorType)) ?? exports[node.type];
    if (!op?.process || !op.init) throw new Error(`graph node ${node.name}: its module does not export ${operatorInterface(node.type as OperatorType)}`);
    operators.set(index, op);
  });
  const send = (prepared.shared['edge:host/telemetry'] as { send(output: string, msg: GuestMessage): void }).send;
  const runner = new GraphRunner({
    plan,
    operators,
    clock,
    meter,
    warn: (text) => prepared.log('warn', text),
    send: (msg) => send(plan.output, msg),
  });
  // What the graph measured goes out at most every METRICS_MS, between calls: a message's result carries
  // its telemetry at once, its counts need not cross the thread with every call.
  let flushTimer: NodeJS.Timeout | undefined;
  const flushMetrics = () => {
    flushTimer = undefined;
    const measured = meter.take();
    if (measured) effects.push(measured);
    effects.flush();
  };
  return (call) => {
    try {
      switch (call.fn) {
        case 'init':
          return runner.init();
        case 'onMessage':
          // A subscribed message's topic is its MQTT topic; an edgeHub input's, `input/<name>`.
          return runner.message(call.source.startsWith('topic/') ? call.source.slice('topic/'.length) : call.source, call.msg);
        case 'onTimer':
          return runner.tick();
        default:
          throw new Error(`a graph workload has no ${call.fn}`);
      }
    } catch (err) {
      // A trap ends the instance: what was counted goes out with this call's result, or never.
      const measured = meter.take();
      if (measured) effects.push(measured);
      throw err;
    } finally {
      flushTimer ??= setTimeout(flushMetrics, METRICS_MS);
    }
  };
}
