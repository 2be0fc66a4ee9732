import { z } from 'zod';
import { checkShape } from './shape.js';
import { configProblems, graphSpecProblems } from './graph.js';
import { BROKER_CLIENT_NAME, brokerClientSchema, toSpec, WORKLOAD_NAME, workloadSchema, type BrokerClientSpec, type WorkloadSpec } from './schema.js';

export const SCHEMA_VERSION = '1.0';
/** IoT Hub's limits for one side of a twin (design.md). */
export const MAX_DESIRED_BYTES = 32 * 1024;
export const MAX_DEPTH = 10;

export interface SpecProblem {
  /** The workload concerned, or undefined for the document itself. */
  readonly workload: string | undefined;
  /** Dotted path inside the document, e.g. `workloads.filter.limits.memoryMb`. */
  readonly path: string;
  readonly message: string;
}

export interface ValidatedDesired {
  /** Workloads that passed validation, by name. */
  readonly workloads: ReadonlyMap<string, WorkloadSpec>;
  /** Local broker clients that passed validation, by name (their MQTT user name). */
  readonly brokerClients: ReadonlyMap<string, BrokerClientSpec>;
  /** Fatal per workload (that workload is left out) or per document (nothing is applied). */
  readonly errors: readonly SpecProblem[];
  /** Unknown keys and the like: reported, never fatal. */
  readonly warnings: readonly SpecProblem[];
  /** True when the document itself is unusable, as opposed to single workloads. */
  readonly documentInvalid: boolean;
}

/** Keys the twin adds to desired properties; never user data. */
const TWIN_METADATA = new Set(['$version', '$metadata']);

/**
 * Validates a desired document (the twin's desired properties, or local mode's file). One bad
 * workload never blocks the others: it is left out with its errors while the rest are returned.
 */
export function validateDesired(doc: unknown, options: { allowUnpinned: boolean }): ValidatedDesired {
  const errors: SpecProblem[] = [];
  const warnings: SpecProblem[] = [];
  const workloads = new Map<string, WorkloadSpec>();
  const brokerClients = new Map<string, BrokerClientSpec>();
  const docProblem = (message: string, path = ''): ValidatedDesired => ({
    workloads,
    brokerClients,
    errors: [{ workload: undefined, path, message }],
    warnings,
    documentInvalid: true,
  });

  if (!isPlainObject(doc)) return docProblem('the desired document must be a JSON object');
  const shape = checkShape(doc, MAX_DEPTH);
  const tooDeep = shape.find((p) => p.kind === 'depth');
  if (tooDeep) return docProblem(`document is nested more than ${MAX_DEPTH} deep; the limit is ${MAX_DEPTH}`);
  const size = Buffer.byteLength(JSON.stringify(doc));
  if (size > MAX_DESIRED_BYTES) return docProblem(`document is ${size} bytes; the limit is ${MAX_DESIRED_BYTES}`);
  // A forbidden key inside one workload leaves that workload out; anywhere else, the whole document.
  const refusedWorkloads = new Set<string>();
  for (const problem of shape) {
    if (problem.kind !== 'key') continue;
    const [top, name] = problem.path;
    const message = `key ${JSON.stringify(problem.path.at(-1))} is not allowed`;
    if (top !== 'workloads' || name === undefined || problem.path.length < 3) return docProblem(message, problem.path.join('.'));
    errors.push({ workload: name, path: problem.path.join('.'), message });
    refusedWorkloads.add(name);
  }
  if (doc.schemaVersion !== SCHEMA_VERSION) {
    return docProblem(`schemaVersion must be "${SCHEMA_VERSION}" (got ${JSON.stringify(doc.schemaVersion)})`, 'schemaVersion');
  }
  for (const key of Object.keys(doc)) {
    if (key !== 'schemaVersion' && key !== 'workloads' && key !== 'broker' && !TWIN_METADATA.has(key)) {
      warnings.push({ workload: undefined, path: key, message: 'unknown key, ignored' });
    }
  }
  const raw = doc.workloads ?? {};
  if (!isPlainObject(raw)) return docProblem('workloads must be an object keyed by workload name', 'workloads');

  for (const [name, value] of Object.entries(raw)) {
    if (TWIN_METADATA.has(name) || value === null || refusedWorkloads.has(name)) continue; // null: deleted by a patch
    const base = `workloads.${name}`;
    if (!WORKLOAD_NAME.test(name)) {
      errors.push({ workload: name, path: base, message: `invalid workload name: use 1-64 letters, digits, "-" or "_"` });
      continue;
    }
    const parsed = workloadSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        errors.push({ workload: name, path: joinPath(base, issue.path), message: issue.message });
      }
      continue;
    }
    const spec = parsed.data;
    const built = toSpec(name, spec);
    const wrong = kindProblems(built, options.allowUnpinned);
    if (wrong.length) {
      for (const problem of wrong) errors.push({ workload: name, path: joinPath(base, problem.path.split('.')), message: problem.message });
      continue;
    }
    if (!built.graph && !spec.sha256 && !options.allowUnpinned) {
      errors.push({ workload: name, path: `${base}.sha256`, message: 'sha256 is required (set WASMHOST_ALLOW_UNPINNED=true for development)' });
      continue;
    }
    for (const path of unknownKeys(workloadSchema, value, [])) {
      warnings.push({ workload: name, path: joinPath(base, path), message: 'unknown key, ignored' });
    }
    workloads.set(name, built);
  }
  refuseSharedPorts(workloads, errors);
  if (doc.broker !== undefined && doc.broker !== null) validateBroker(doc.broker, brokerClients, errors, warnings);
  return { workloads, brokerClients, errors, warnings, documentInvalid: false };
}

/** `broker.clients`: a bad client is left out with its errors; the others are applied. */
function validateBroker(raw: unknown, clients: Map<string, BrokerClientSpec>, errors: SpecProblem[], warnings: SpecProblem[]): void {
  if (!isPlainObject(raw)) return void errors.push({ workload: undefined, path: 'broker', message: 'broker must be an object' });
  for (const key of Object.keys(raw)) if (key !== 'clients') warnings.push({ workload: undefined, path: `broker.${key}`, message: 'unknown key, ignored' });
  const list = raw.clients ?? {};
  if (!isPlainObject(list)) return void errors.push({ workload: undefined, path: 'broker.clients', message: 'clients must be an object keyed by client name' });
  for (const [name, value] of Object.entries(list)) {
    if (value === null) continue; // deleted by a patch
    const base = `broker.clients.${name}`;
    if (!BROKER_CLIENT_NAME.test(name)) {
      errors.push({ workload: undefined, path: base, message: 'invalid client name: use 1-64 letters, digits, "-" or "_"' });
      continue;
    }
    const parsed = brokerClientSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) errors.push({ workload: undefined, path: joinPath(base, issue.path), message: issue.message });
      continue;
    }
    for (const path of unknownKeys(brokerClientSchema, value, [])) warnings.push({ workload: undefined, path: joinPath(base, path), message: 'unknown key, ignored' });
    clients.set(name, { name, ...parsed.data });
  }
}

/** A component workload has `source`; a graph workload has `graph`, valid as AIO defines it and with every module pinned. */
function kindProblems(spec: WorkloadSpec, allowUnpinned: boolean): Array<{ path: string; message: string }> {
  if (spec.source && spec.graph) return [{ path: 'graph', message: 'a workload runs a component (source) or a graph, not both' }];
  if (!spec.source && !spec.graph) return [{ path: 'source', message: 'source is required (or graph, for a data flow graph)' }];
  if (!spec.graph) return [];
  const problems = graphSpecProblems(spec.graph, allowUnpinned);
  if (spec.graph.definition) problems.push(...configProblems(spec.graph.definition, spec.config));
  return problems.map((p) => ({ path: `graph.${p.path}`, message: p.message }));
}

/** One port, one workload: the first by name keeps it, the others are left out with an error. */
function refuseSharedPorts(workloads: Map<string, WorkloadSpec>, errors: SpecProblem[]): void {
  const owners = new Map<number, string>();
  for (const name of [...workloads.keys()].sort()) {
    const port = workloads.get(name)!.capabilities.listen?.port;
    if (port === undefined) continue;
    const owner = owners.get(port);
    if (owner === undefined) {
      owners.set(port, name);
      continue;
    }
    errors.push({ workload: name, path: `workloads.${name}.capabilities.listen.port`, message: `port ${port} is already workload ${owner}'s` });
    workloads.delete(name);
  }
}

/** Renders problems one per line, as `wasmhost validate` prints them. */
export function formatProblem(p: SpecProblem): string {
  return `${p.path || '(document)'}: ${p.message}`;
}

function unknownKeys(schema: z.ZodType, value: unknown, path: PropertyKey[]): PropertyKey[][] {
  const inner = unwrap(schema);
  if (!(inner instanceof z.ZodObject) || !isPlainObject(value)) return [];
  const shape = inner.shape as Record<string, z.ZodType>;
  return Object.entries(value).flatMap(([key, child]) =>
    key in shape ? unknownKeys(shape[key]!, child, [...path, key]) : [[...path, key]],
  );
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s;
}

function joinPath(base: string, path: readonly PropertyKey[]): string {
  return [base, ...path.map(String)].join('.');
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
