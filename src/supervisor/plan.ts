import type { SpecDiff, WorkloadSpec } from '../spec/index.js';

/** What the reconciler does; data only, carried out by the Supervisor. */
export type Command =
  | { readonly kind: 'start'; readonly name: string; readonly spec: WorkloadSpec }
  | { readonly kind: 'replace'; readonly name: string; readonly spec: WorkloadSpec }
  | { readonly kind: 'remove'; readonly name: string };

export function describe(command: Command): string {
  switch (command.kind) {
    case 'start':
      return `start ${command.name}${command.spec.enabled ? '' : ' (disabled)'}`;
    case 'replace':
      return `replace ${command.name}: its spec changed`;
    case 'remove':
      return `remove ${command.name}`;
  }
}

/**
 * Turns a diff into commands. Workloads whose new spec is invalid keep running as they are (they are
 * neither replaced nor removed): one bad edit never takes down a working version. Pure.
 */
export function plan(diff: SpecDiff, desired: ReadonlyMap<string, WorkloadSpec>, invalid: ReadonlySet<string>): Command[] {
  const commands: Command[] = [];
  for (const name of diff.removed) if (!invalid.has(name)) commands.push({ kind: 'remove', name });
  for (const name of diff.changed) commands.push({ kind: 'replace', name, spec: desired.get(name)! });
  for (const name of diff.added) commands.push({ kind: 'start', name, spec: desired.get(name)! });
  return commands;
}
