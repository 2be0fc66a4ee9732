import type { WorkloadSpec } from './schema.js';

export interface SpecDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Same name, different value: source, digest, config, env, limits or anything else. */
  readonly changed: readonly string[];
  readonly unchanged: readonly string[];
}

/** Value-equality diff of two workload sets keyed by name (edgeAgent's ModuleSet.Diff). Pure. */
export function diffSpecs(desired: ReadonlyMap<string, WorkloadSpec>, current: ReadonlyMap<string, WorkloadSpec>): SpecDiff {
  const added: string[] = [];
  const changed: string[] = [];
  const unchanged: string[] = [];
  for (const [name, spec] of desired) {
    const before = current.get(name);
    if (!before) added.push(name);
    else if (sameSpec(spec, before)) unchanged.push(name);
    else changed.push(name);
  }
  const removed = [...current.keys()].filter((name) => !desired.has(name));
  return { added, removed, changed, unchanged };
}

export function sameSpec(a: WorkloadSpec, b: WorkloadSpec): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON with object keys sorted, so that key order in the twin never counts as a change. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}
