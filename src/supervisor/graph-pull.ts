import { createHash } from 'node:crypto';
import { WasmhostError } from '../errors.js';
import type { Fetcher, RetryListener } from '../fetch/index.js';
import type { CompiledComponent, Engine, GraphPlan } from '../runtime/index.js';
import { canonicalJson, configProblems, moduleSource, parseGraphYaml, toGraphPlan, type GraphDefinition, type GraphProblem, type WorkloadSpec } from '../spec/index.js';

export interface PulledGraph {
  readonly components: CompiledComponent[];
  readonly plan: GraphPlan;
  /** The graph's identity: its definition and each module's digest. */
  readonly digest: string;
  /** The cached blobs it was made of: its artifact (when pulled) and its modules. */
  readonly blobs: readonly string[];
}

function invalid(problems: readonly GraphProblem[]): WasmhostError {
  return new WasmhostError('WH_ERR_GRAPH_INVALID', problems.map((p) => `graph${p.path ? `.${p.path}` : ''}: ${p.message}`).join('; '));
}

/**
 * Everything a graph workload needs before it starts: its definition (inline, or pulled as an OCI graph
 * artifact and checked as an inline one is), then each operator module, pulled by its pin and compiled.
 */
export async function pullGraph(spec: WorkloadSpec, fetcher: Fetcher, engine: Engine, onRetry: RetryListener): Promise<PulledGraph> {
  const graph = spec.graph!;
  let definition: GraphDefinition | undefined = graph.definition;
  const blobs: string[] = [];
  if (!definition) {
    const blob = await fetcher.fetch(graph.artifact!, graph.sha256, onRetry);
    blobs.push(blob.digest);
    const parsed = parseGraphYaml(blob.bytes, graph.modules);
    // An inline graph was checked with the desired document; a pulled one is checked here, as fully.
    const problems = parsed.definition ? [...parsed.problems, ...configProblems(parsed.definition, spec.config)] : parsed.problems;
    if (!parsed.definition || problems.length) throw invalid(problems);
    definition = parsed.definition;
  }
  const used = [...new Set(definition.operations.flatMap((op) => (op.module ? [op.module] : [])))];
  const pins = used.map((module) => graph.modules.find((p) => p.module === module)!);
  const components = await Promise.all(pins.map(async (pin) => {
    const blob = await fetcher.fetch(moduleSource(graph, pin), pin.sha256, onRetry);
    return engine.compile(blob.bytes, blob.digest);
  }));
  const plan = toGraphPlan(definition, spec.config, spec.output ?? spec.name, (module) => used.indexOf(module));
  const digest = createHash('sha256').update(canonicalJson({ definition, modules: components.map((c) => c.digest) })).digest('hex');
  return { components, plan, digest, blobs: [...blobs, ...components.map((c) => c.digest)] };
}
