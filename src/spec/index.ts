export { validateDesired, formatProblem, isPlainObject, SCHEMA_VERSION, MAX_DESIRED_BYTES } from './validate.js';
export type { ValidatedDesired, SpecProblem } from './validate.js';
export { diffSpecs, canonicalJson } from './diff.js';
export type { SpecDiff } from './diff.js';
export { EDGEHUB_MAX_MESSAGE_BYTES, pinnedDigests } from './schema.js';
export type { WorkloadSpec, WorkloadLimits, RestartPolicy, BrokerClientSpec } from './schema.js';
export { mergePatch } from './merge.js';
export { configProblems, definitionProblems, formatGraphProblem, GRAPH_FILE, moduleSource, nodeProperties, parseGraphYaml, toGraphPlan } from './graph.js';
export type { GraphDefinition, GraphProblem, GraphSpec, ModulePin } from './graph.js';
