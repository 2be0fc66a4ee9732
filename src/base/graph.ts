import { isInterface } from './workload-types.js';

/**
 * The words of an Azure IoT Operations data flow graph (design.md "Azure IoT Operations data flow
 * graphs"), shared by the spec that validates one and the worker that runs it. Data only.
 */

/** Node types that call an operator module's export of the same name. */
export const OPERATOR_TYPES = ['map', 'filter', 'branch', 'accumulate', 'delay'] as const;
export type OperatorType = (typeof OPERATOR_TYPES)[number];
/** Node types the host runs itself. */
export type GraphNodeType = 'source' | 'sink' | 'concatenate' | OperatorType;

/** What happened to a message at a node, as counted in `wasmhost_graph_node_messages_total`. */
export type NodeOutcome = 'in' | 'out' | 'dropped' | 'true' | 'false' | 'error';

/** A validated graph, reduced to what the worker runs: nodes by index, edges as indexes. */
export interface GraphPlan {
  readonly nodes: readonly GraphNodePlan[];
  /** The output sinks send telemetry on. */
  readonly output: string;
}

export interface GraphNodePlan {
  readonly name: string;
  readonly type: GraphNodeType;
  /** Operator nodes: the index of their module in the worker's components. */
  readonly component: number | undefined;
  /** Operator nodes: what `init` gets (moduleConfigurations parameters, valued from the workload's config). */
  readonly properties: ReadonlyArray<readonly [string, string]>;
  /** Where results go; a branch's are `branchTrue` / `branchFalse`. */
  readonly next: readonly number[];
  readonly branchTrue: readonly number[];
  readonly branchFalse: readonly number[];
}

/** The WIT interface an operator type is exported as. */
export function operatorInterface(type: OperatorType): string {
  return `wasm-graph:processor/${type}`;
}

/** The operator interfaces a component exports (`wasm-graph:processor/map@1.1.0` -> map). */
export function operatorExports(exports: readonly string[]): OperatorType[] {
  return OPERATOR_TYPES.filter((type) => exports.some((e) => isInterface(e, operatorInterface(type))));
}

/** An operator's counter series in one batch: `value` is what it added since the last. */
export interface OperatorCounter { node: string; name: string; labels: Array<[string, string]>; value: number }
export interface OperatorHistogram { node: string; name: string; labels: Array<[string, string]>; values: number[] }

/** What a graph counted per node and its operators measured, since the last batch. */
export interface GraphMeasurements {
  nodes: Array<[string, NodeOutcome, number]>;
  counters: OperatorCounter[];
  histograms: OperatorHistogram[];
}
