import { readDesiredFile } from '../local/desired-file.js';
import { readFile } from 'node:fs/promises';
import { formatGraphProblem, formatProblem, GRAPH_FILE, parseGraphYaml, validateDesired } from '../spec/index.js';
import { readSettings } from '../settings.js';
import { usage } from './args.js';

/**
 * `wasmhost validate <desired.json>`: every error and warning, one per line; exit 1 on any error.
 * `wasmhost validate <graph.yaml>`: the same for an Azure IoT Operations graph definition.
 */
export async function validateCommand(args: string[]): Promise<number> {
  if (args.length !== 1) throw usage('usage: wasmhost validate <desired.json | graph.yaml>');
  if (GRAPH_FILE.test(args[0]!)) return validateGraphFile(args[0]!);
  const read = await readDesiredFile(args[0]!);
  if (!read.ok) throw usage(read.error);
  const result = validateDesired(read.doc, { allowUnpinned: readSettings().allowUnpinned });
  for (const e of result.errors) process.stdout.write(`error: ${formatProblem(e)}\n`);
  for (const w of result.warnings) process.stdout.write(`warning: ${formatProblem(w)}\n`);
  process.stdout.write(`${result.workloads.size} workload(s) valid, ${result.errors.length} error(s), ${result.warnings.length} warning(s)\n`);
  return result.errors.length ? 1 : 0;
}

async function validateGraphFile(file: string): Promise<number> {
  const bytes = await readFile(file).catch(() => {
    throw usage(`${file}: no such file`);
  });
  const { definition, problems } = parseGraphYaml(bytes, undefined);
  for (const p of problems) process.stdout.write(`error: ${formatGraphProblem(p)}\n`);
  const modules = new Set(definition?.operations.flatMap((op) => (op.module ? [op.module] : [])));
  process.stdout.write(problems.length ? `${problems.length} error(s)\n` : `graph valid: ${definition!.operations.length} nodes, modules to pin: ${[...modules].join(', ') || 'none'}\n`);
  return problems.length ? 1 : 0;
}
