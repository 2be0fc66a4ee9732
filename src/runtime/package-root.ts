import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

interface PackageJson {
  readonly name?: string;
  readonly version: string;
}

function readPackageJson(dir: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return undefined; // no package.json here
  }
}

/**
 * Root folder of an installed package whose `exports` hide its package.json: the `node_modules/<name>`
 * folder nearest to this file, as Node's resolution would find it (a resolution through `exports`
 * costs `wasmhost run` a millisecond it has no other use for), else up from the resolved entry.
 */
export function packageRoot(name: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (readPackageJson(candidate)?.name === name) return candidate;
    if (dirname(dir) === dir) break;
  }
  for (let dir = dirname(require.resolve(name)); dirname(dir) !== dir; dir = dirname(dir)) {
    if (readPackageJson(dir)?.name === name) return dir;
  }
  throw new Error(`cannot find the root of package ${name}`);
}

export function packageVersion(name: string): string {
  return readPackageJson(packageRoot(name))!.version;
}
