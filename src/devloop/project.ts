import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { WasmhostError } from '../errors.js';

const Config = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and "-"'),
  wasmhost: z.discriminatedUnion('language', [
    z.object({ language: z.literal('typescript'), entry: z.string(), world: z.string(), engine: z.enum(['quickjs', 'spidermonkey']).optional() }),
    z.object({ language: z.literal('c'), entry: z.string() }),
  ]),
});

/** A workload project as `wasmhost new` makes it: package.json's `name` and `wasmhost` section. */
export interface Project {
  readonly dir: string;
  readonly name: string;
  readonly build: z.infer<typeof Config>['wasmhost'];
  /** Where `wasmhost build` writes the component. */
  readonly output: string;
}

export function readProject(dir = '.'): Project {
  const root = resolve(dir);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  } catch (err) {
    throw new WasmhostError('WH_ERR_CLI_USAGE', `${root} is not a workload project (package.json: ${(err as Error).message})`);
  }
  const parsed = Config.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WasmhostError('WH_ERR_CLI_USAGE', `${join(root, 'package.json')}: ${issue.path.join('.') || '(root)'}: ${issue.message} (a project made by wasmhost new has "name" and a "wasmhost" section)`);
  }
  return { dir: root, name: parsed.data.name, build: parsed.data.wasmhost, output: join(root, 'dist', `${parsed.data.name}.wasm`) };
}
