import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { WasmhostError } from '../errors.js';
import { PACKAGE_ROOT, writeGuestWit } from './guest-wit.js';
import { readProject } from './project.js';

export const TEMPLATES = ['handler-ts', 'http-ts', 'command-c'] as const;
export type Template = (typeof TEMPLATES)[number];

const TEXT = /\.(ts|c|json|md)$|^gitignore$/;

/** Replaces {{name}} and {{wasmhost}} in every text file under `dir`. */
function fillIn(dir: string, values: Record<string, string>): void {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) fillIn(path, values);
    else if (TEXT.test(entry)) writeFileSync(path, readFileSync(path, 'utf8').replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole));
  }
}

/**
 * TypeScript declarations for the world's imports and exports, generated from the project's wit/ with
 * jco's guest-types (jco reads files through its own WASI sandbox, hence the preopen of `/`).
 */
function writeTypes(dir: string, world: string): void {
  const jco = join(PACKAGE_ROOT, 'node_modules/@bytecodealliance/jco/dist/jco.js');
  if (!existsSync(jco)) throw new WasmhostError('WH_ERR_BUILD_FAILED', `jco is not installed (${jco}): install wasmhost with its development dependencies`);
  const r = spawnSync(process.execPath, ['--import', join(PACKAGE_ROOT, 'scripts/preopen-root.mjs'), jco, 'guest-types', join(dir, 'wit'), '-n', world, '-o', join(dir, 'types'), '-q'], { encoding: 'utf8' });
  if (r.status !== 0) throw new WasmhostError('WH_ERR_BUILD_FAILED', `generating types from wit/ failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
}

/** `wasmhost new`: a workload project from a template, ready for `npm install`, build, test and start. */
export function scaffold(target: string, template: Template, name = basename(resolve(target))): string {
  const dir = resolve(target);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new WasmhostError('WH_ERR_CLI_USAGE', `${dir} exists and is not empty`);
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new WasmhostError('WH_ERR_CLI_USAGE', `project name ${JSON.stringify(name)}: use lowercase letters, digits and "-" (or pass --name)`);
  mkdirSync(dir, { recursive: true });
  cpSync(join(PACKAGE_ROOT, 'templates', template), dir, { recursive: true });
  renameSync(join(dir, 'gitignore'), join(dir, '.gitignore'));
  fillIn(dir, { name, wasmhost: `file:${PACKAGE_ROOT}` });
  const { build } = readProject(dir);
  if (build.language === 'typescript') {
    writeGuestWit(join(dir, 'wit'), build.world);
    writeTypes(dir, build.world);
  }
  return dir;
}
