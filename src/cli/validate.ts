import { readDesiredFile } from '../local/desired-file.js';
import { formatProblem, validateDesired } from '../spec/index.js';
import { readSettings } from '../settings.js';
import { usage } from './args.js';

/** `wasmhost validate <desired.json>`: every error and warning, one per line; exit 1 on any error. */
export async function validateCommand(args: string[]): Promise<number> {
  if (args.length !== 1) throw usage('usage: wasmhost validate <desired.json>');
  const read = await readDesiredFile(args[0]!);
  if (!read.ok) throw usage(read.error);
  const result = validateDesired(read.doc, { allowUnpinned: readSettings().allowUnpinned });
  for (const e of result.errors) process.stdout.write(`error: ${formatProblem(e)}\n`);
  for (const w of result.warnings) process.stdout.write(`warning: ${formatProblem(w)}\n`);
  process.stdout.write(`${result.workloads.size} workload(s) valid, ${result.errors.length} error(s), ${result.warnings.length} warning(s)\n`);
  return result.errors.length ? 1 : 0;
}
