import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { OPERATOR_TYPES, type GraphNodePlan, type GraphNodeType, type GraphPlan } from '../base/index.js';

/**
 * A workload's `graph`: Azure IoT Operations' graph definition (the YAML AIO publishes, as JSON) plus
 * what only a device needs, each operator module's sha256 pin (design.md "Azure IoT Operations data flow
 * graphs"). Given inline, or as `artifact` (an OCI graph artifact, pinned by the sha256 of its YAML).
 */

/** AIO's node names carry a module and an operator ("module-temperature/map"). */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_./:-]{0,127}$/;
const SHA256 = /^(sha256:)?[0-9a-f]{64}$/;
/** The wasm-graph:processor major this host serves (1.1.0 imports and exports). */
const API_MAJOR = '1';

const nodeName = z.string().regex(NODE_NAME, 'expected 1-128 letters, digits, "-", "_", ".", "/" or ":"');

const operationSchema = z.looseObject({
  operationType: z.enum(['source', 'sink', 'concatenate', ...OPERATOR_TYPES]),
  name: nodeName,
  /** An OCI reference relative to the graph's registry, as AIO writes it ("temperature:1.0.0"); empty for concatenate. */
  module: z.string().max(512).nullish(),
});

const connectionSchema = z.looseObject({
  from: z.looseObject({ name: nodeName, arm: z.enum(['True', 'False']).optional() }),
  to: z.looseObject({ name: nodeName }),
});

const parameterSchema = z.looseObject({
  name: z.string().max(128).optional(),
  description: z.string().max(1024).optional(),
  default: z.union([z.string().max(4096), z.number(), z.boolean()]).optional(),
  required: z.boolean().optional(),
});

const moduleConfigurationSchema = z.looseObject({
  name: nodeName,
  parameters: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'expected a parameter name'), parameterSchema).default({}),
});

/** The graph definition itself: what AIO's `graph.yaml` holds. */
export const graphDefinitionSchema = z.looseObject({
  metadata: z.record(z.string(), z.unknown()).optional(),
  moduleRequirements: z.looseObject({ apiVersion: z.string().max(32).optional(), runtimeVersion: z.string().max(32).optional(), hostlibVersion: z.string().max(32).optional(), features: z.array(z.unknown()).max(32).optional() }).optional(),
  moduleConfigurations: z.array(moduleConfigurationSchema).max(64).default([]),
  operations: z.array(operationSchema).min(2).max(64),
  connections: z.array(connectionSchema).min(1).max(256),
});

const modulePinSchema = z.looseObject({
  /** The reference as the graph's operations name it. */
  module: z.string().min(1).max(512),
  /** Where to pull it: file://, https:// or oci://. Optional for an artifact graph: its registry, then the reference. */
  source: z.string().min(1).max(2048).optional(),
  sha256: z.string().regex(SHA256, 'expected 64 lowercase hex digits').optional(),
});

/** `workloads.<name>.graph` in the twin. */
export const graphSchema = z.looseObject({
  ...graphDefinitionSchema.partial().shape,
  moduleConfigurations: graphDefinitionSchema.shape.moduleConfigurations,
  artifact: z.string().min(1).max(2048).optional(),
  sha256: z.string().regex(SHA256, 'expected 64 lowercase hex digits').optional(),
  modules: z.array(modulePinSchema).max(32).default([]),
});

export type GraphDefinition = z.output<typeof graphDefinitionSchema>;

export interface ModulePin {
  readonly module: string;
  readonly source: string | undefined;
  readonly sha256: string | undefined;
}

/** A validated graph on a spec: the definition inline, or the artifact it is pulled from. */
export interface GraphSpec {
  readonly definition: GraphDefinition | undefined;
  readonly artifact: string | undefined;
  readonly sha256: string | undefined;
  readonly modules: readonly ModulePin[];
}

export interface GraphProblem {
  /** Inside the graph, dotted: `operations.2.module`, `connections.0.from.arm`. */
  readonly path: string;
  readonly message: string;
}

const stripPrefix = (digest: string | undefined) => digest?.replace(/^sha256:/, '');

export function toGraphSpec(parsed: z.output<typeof graphSchema>): GraphSpec {
  const { artifact, sha256, modules, metadata, moduleRequirements, moduleConfigurations, operations, connections } = parsed;
  return {
    definition: operations && connections ? { metadata, moduleRequirements, moduleConfigurations, operations, connections } : undefined,
    artifact,
    sha256: stripPrefix(sha256),
    modules: modules.map((m) => ({ module: m.module, source: m.source, sha256: stripPrefix(m.sha256) })),
  };
}

/** The twin-level rules: inline or artifact (not both), pins present. The graph's own rules are `definitionProblems`. */
export function graphSpecProblems(graph: GraphSpec, allowUnpinned: boolean): GraphProblem[] {
  const problems: GraphProblem[] = [];
  if (graph.artifact && graph.definition) problems.push({ path: 'artifact', message: 'give the graph inline (operations, connections) or as an artifact, not both' });
  if (!graph.artifact && !graph.definition) problems.push({ path: 'operations', message: 'a graph needs operations and connections, or an artifact to pull them from' });
  if (graph.artifact && !graph.sha256 && !allowUnpinned) problems.push({ path: 'sha256', message: 'sha256 of the graph artifact is required (set WASMHOST_ALLOW_UNPINNED=true for development)' });
  graph.modules.forEach((pin, i) => {
    if (!pin.sha256 && !allowUnpinned) problems.push({ path: `modules.${i}.sha256`, message: `sha256 of module ${pin.module} is required (set WASMHOST_ALLOW_UNPINNED=true for development)` });
    if (!pin.source && !graph.artifact) problems.push({ path: `modules.${i}.source`, message: `source of module ${pin.module} is required for an inline graph` });
  });
  if (graph.definition) problems.push(...definitionProblems(graph.definition, graph.modules));
  return problems;
}

/**
 * Everything wrong with a graph definition, each with its path: unknown nodes, duplicate names, arms on
 * a node that is not a branch, branches without arms, cycles, unreachable nodes, modules without a pin.
 */
export function definitionProblems(def: GraphDefinition, pins: readonly ModulePin[] | undefined): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const api = def.moduleRequirements?.apiVersion;
  if (api !== undefined && api.split('.')[0] !== API_MAJOR) add('moduleRequirements.apiVersion', `apiVersion ${api} is not served: this host serves wasm-graph:processor@1.1.0 (apiVersion 1.x)`);
  const types = new Map<string, GraphNodeType>();
  def.operations.forEach((op, i) => {
    if (types.has(op.name)) add(`operations.${i}.name`, `duplicate node name ${op.name}`);
    types.set(op.name, op.operationType);
    const isOperator = (OPERATOR_TYPES as readonly string[]).includes(op.operationType);
    if (isOperator && !op.module) add(`operations.${i}.module`, `a ${op.operationType} node needs a module`);
    if (!isOperator && op.module) add(`operations.${i}.module`, `a ${op.operationType} node runs no module`);
    if (isOperator && op.module && pins && !pins.some((p) => p.module === op.module)) add(`operations.${i}.module`, `module ${op.module} has no entry in modules (its source and sha256)`);
  });
  const kinds = [...types.values()];
  if (!kinds.includes('source')) add('operations', 'a graph needs a source node');
  if (!kinds.includes('sink')) add('operations', 'a graph needs a sink node');
  pins?.forEach((pin, i) => {
    if (!def.operations.some((op) => op.module === pin.module)) add(`modules.${i}.module`, `no operation uses module ${pin.module}`);
  });
  const arms = new Map<string, Set<string>>();
  const edges = new Map<string, string[]>([...types.keys()].map((n) => [n, []]));
  def.connections.forEach((c, i) => {
    const from = types.get(c.from.name);
    const to = types.get(c.to.name);
    if (!from) add(`connections.${i}.from.name`, `unknown node ${c.from.name}`);
    if (!to) add(`connections.${i}.to.name`, `unknown node ${c.to.name}`);
    if (!from || !to) return;
    if (from === 'sink') add(`connections.${i}.from.name`, `${c.from.name} is a sink: nothing leaves it`);
    if (to === 'source') add(`connections.${i}.to.name`, `${c.to.name} is a source: nothing enters it`);
    if (c.from.arm && from !== 'branch') add(`connections.${i}.from.arm`, `arm ${c.from.arm} on ${c.from.name}, which is a ${from}, not a branch`);
    if (!c.from.arm && from === 'branch') add(`connections.${i}.from.arm`, `${c.from.name} is a branch: say which arm ("True" or "False")`);
    if (c.from.arm) arms.set(c.from.name, (arms.get(c.from.name) ?? new Set()).add(c.from.arm));
    edges.get(c.from.name)!.push(c.to.name);
  });
  def.operations.forEach((op, i) => {
    const incoming = def.connections.some((c) => c.to.name === op.name);
    const outgoing = edges.get(op.name)?.length ?? 0;
    if (op.operationType !== 'source' && !incoming) add(`operations.${i}.name`, `nothing connects to ${op.name}`);
    if (op.operationType !== 'sink' && outgoing === 0) add(`operations.${i}.name`, `${op.name} connects to nothing`);
  });
  const cycle = findCycle(edges);
  if (cycle) add('connections', `the connections make a cycle: ${cycle.join(' -> ')}`);
  def.moduleConfigurations.forEach((mc, i) => {
    const type = types.get(mc.name);
    if (!type) add(`moduleConfigurations.${i}.name`, `unknown node ${mc.name}`);
    else if (!(OPERATOR_TYPES as readonly string[]).includes(type)) add(`moduleConfigurations.${i}.name`, `${mc.name} is a ${type} node: it runs no module to configure`);
  });
  return problems;
}

/** A cycle in the directed graph, as node names from its first node back to it, or undefined. */
function findCycle(edges: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  // Iterative depth-first walk: a graph of the allowed size never nests deep, but nothing here recurses on input.
  for (const start of edges.keys()) {
    if (state.has(start)) continue;
    const stack: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    state.set(start, 'open');
    path.push(start);
    while (stack.length) {
      const top = stack.at(-1)!;
      const targets = edges.get(top.node) ?? [];
      if (top.next < targets.length) {
        const target = targets[top.next++]!;
        if (state.get(target) === 'open') return [...path.slice(path.indexOf(target)), target];
        if (!state.has(target)) {
          state.set(target, 'open');
          path.push(target);
          stack.push({ node: target, next: 0 });
        }
      } else {
        state.set(top.node, 'done');
        path.pop();
        stack.pop();
      }
    }
  }
  return undefined;
}

/**
 * What each operator's `init` gets: its moduleConfigurations parameters, valued from the workload's
 * `config` (as AIO's data flow graph `configuration` values them) or else their `default`. A required
 * parameter with neither is a problem.
 */
export function nodeProperties(def: GraphDefinition, node: string, config: Readonly<Record<string, string>>): { properties: Array<[string, string]>; missing: string[] } {
  const properties: Array<[string, string]> = [];
  const missing: string[] = [];
  for (const mc of def.moduleConfigurations.filter((m) => m.name === node)) {
    for (const [key, parameter] of Object.entries(mc.parameters)) {
      const value = config[key] ?? (parameter.default === undefined ? undefined : String(parameter.default));
      if (value !== undefined) properties.push([key, value]);
      else if (parameter.required) missing.push(key);
    }
  }
  return { properties, missing };
}

/** Required parameters the workload's config leaves without a value, as problems. */
export function configProblems(def: GraphDefinition, config: Readonly<Record<string, string>>): GraphProblem[] {
  return def.moduleConfigurations.flatMap((mc, i) =>
    nodeProperties(def, mc.name, config).missing.map((key) => ({ path: `moduleConfigurations.${i}.parameters.${key}`, message: `required parameter ${key} has no value in config and no default` })),
  );
}

/** Reduces a valid definition to the worker's plan; `componentOf` gives each module's index among the worker's components. */
export function toGraphPlan(def: GraphDefinition, config: Readonly<Record<string, string>>, output: string, componentOf: (module: string) => number): GraphPlan {
  const index = new Map(def.operations.map((op, i) => [op.name, i]));
  const targets = (name: string, arm: string | undefined) => def.connections.filter((c) => c.from.name === name && c.from.arm === arm).map((c) => index.get(c.to.name)!);
  const nodes: GraphNodePlan[] = def.operations.map((op) => {
    const isOperator = (OPERATOR_TYPES as readonly string[]).includes(op.operationType);
    return {
      name: op.name,
      type: op.operationType,
      component: isOperator ? componentOf(op.module!) : undefined,
      properties: nodeProperties(def, op.name, config).properties,
      next: op.operationType === 'branch' ? [] : [...new Set(targets(op.name, undefined))],
      branchTrue: targets(op.name, 'True'),
      branchFalse: targets(op.name, 'False'),
    };
  });
  return { nodes, output };
}

/** A graph artifact's YAML is at most this big (AIO's are a few KB). */
const MAX_GRAPH_YAML_BYTES = 256 * 1024;

/** Parses and checks a graph definition pulled as an artifact (YAML, AIO's graph.yaml): the definition, or its problems. Without `pins`, modules are not checked for one. */
export function parseGraphYaml(bytes: Uint8Array, pins: readonly ModulePin[] | undefined): { definition: GraphDefinition | undefined; problems: GraphProblem[] } {
  if (bytes.byteLength > MAX_GRAPH_YAML_BYTES) return { definition: undefined, problems: [{ path: '', message: `the graph is ${bytes.byteLength} bytes; the limit is ${MAX_GRAPH_YAML_BYTES}` }] };
  let doc: unknown;
  try {
    // A bound on aliases (a "billion laughs" document), unique keys, no custom tags.
    doc = parseYaml(Buffer.from(bytes).toString('utf8'), { maxAliasCount: 100, uniqueKeys: true });
  } catch (err) {
    return { definition: undefined, problems: [{ path: '', message: `not valid YAML: ${(err as Error).message.split('\n')[0]}` }] };
  }
  const parsed = graphDefinitionSchema.safeParse(doc);
  if (!parsed.success) return { definition: undefined, problems: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) };
  return { definition: parsed.data, problems: definitionProblems(parsed.data, pins) };
}

/** Where a module is pulled from: its pin's source, or for an artifact graph the artifact's registry and the module's reference. */
export function moduleSource(graph: GraphSpec, pin: ModulePin): string {
  if (pin.source) return pin.source;
  const registry = /^oci:\/\/([^/]+)\//.exec(graph.artifact ?? '')?.[1];
  return `oci://${registry ?? 'localhost'}/${pin.module}`;
}

/** A graph definition file (`wasmhost validate`, `wasmhost push`): AIO writes them as YAML. */
export const GRAPH_FILE = /\.ya?ml$/i;

/** One problem of a graph file, as the CLI prints it. */
export function formatGraphProblem(p: GraphProblem): string {
  return `${p.path || '(graph)'}: ${p.message}`;
}
