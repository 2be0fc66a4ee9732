import { parseArgs } from 'node:util';
import { Fetcher } from '../fetch/index.js';
import { fetchSettings, readSettings } from '../settings.js';
import { usage } from './args.js';

/** `wasmhost pull <source> [--sha256 X]`: fetches into the data directory's cache and prints the digest. */
export async function pullCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { sha256: { type: 'string' } } });
  } catch (err) {
    throw usage((err as Error).message);
  }
  const [source, ...extra] = parsed.positionals;
  if (!source || extra.length) throw usage('usage: wasmhost pull <source> [--sha256 <hex>]');
  const settings = readSettings();
  const fetcher = new Fetcher(fetchSettings(settings, process.cwd()));
  const blob = await fetcher.fetch(source, parsed.values.sha256?.replace(/^sha256:/, ''), (attempt, err, delayMs) =>
    process.stderr.write(`attempt ${attempt} failed: ${err.message}; retrying in ${delayMs} ms\n`),
  );
  process.stdout.write(`sha256: ${blob.digest}\nsize: ${blob.bytes.byteLength}\n`);
  return 0;
}
