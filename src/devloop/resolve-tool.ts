import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WasmhostError } from '../errors.js';

type Target = string | { [condition: string]: Target | undefined } | undefined;

/** The file an `exports` entry names for an ES import in Node (conditions import / node / default). */
function pick(target: Target, subpath: string): string | undefined {
  if (typeof target === 'string') return target.replace('*', subpath);
  if (!target) return undefined;
  for (const condition of ['import', 'node', 'default']) {
    const found = pick(target[condition], subpath);
    if (found) return found;
  }
  return undefined;
}

/** The folder of package `name` as Node would find it from `from` (node_modules up the tree). */
export function packageDir(from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** A URL to import `name` (or `name/sub`) from the first of `roots` that has it installed. */
export function resolveTool(roots: readonly string[], name: string, sub = ''): { url: string; dir: string } {
  for (const root of roots) {
    const dir = packageDir(root, name);
    if (!dir) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports?: Target | Record<string, Target>; main?: string };
    const exports = pkg.exports as Record<string, Target> | string | undefined;
    let file: string | undefined;
    if (exports === undefined) file = sub ? `${sub}.js` : (pkg.main ?? 'index.js');
    else if (typeof exports === 'string' || !Object.keys(exports).some((k) => k.startsWith('.'))) file = sub ? undefined : pick(exports as Target, '');
    else file = pick(exports[sub ? `./${sub}` : '.'], '') ?? (sub ? pick(exports['./*'], sub) : undefined);
    if (file) return { url: pathToFileURL(join(dir, file)).href, dir };
  }
  throw new WasmhostError('WH_ERR_BUILD_FAILED', `${name} is not installed: npm install --save-dev ${name}`);
}
