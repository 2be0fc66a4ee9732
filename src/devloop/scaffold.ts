import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { WasmhostError } from '../errors.js';
import { PACKAGE_ROOT, writeGuestWit } from './guest-wit.js';
import { readProject, type Project } from './project.js';
import { engineFor } from './build.js';
import type { JsEngine } from './js-engines.js';

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
function writeTypes(dir: string, world: string, engine: JsEngine): void {
  const jco = join(PACKAGE_ROOT, 'node_modules/@bytecodealliance/jco/dist/jco.js');
  rmSync(join(dir, 'types'), { recursive: true, force: true });
  if (!existsSync(jco)) throw new WasmhostError('WH_ERR_BUILD_FAILED', `jco is not installed (${jco}): install wasmhost with its development dependencies`);
  const r = spawnSync(process.execPath, ['--import', join(PACKAGE_ROOT, 'scripts/preopen-root.mjs'), jco, 'guest-types', join(dir, 'wit'), '-n', world, '-o', join(dir, 'types'), '-q'], { encoding: 'utf8' });
  if (r.status !== 0) throw new WasmhostError('WH_ERR_BUILD_FAILED', `generating types from wit/ failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  if (engine === 'quickjs') forQuickJs(join(dir, 'types'));
}

/**
 * jco writes SpiderMonkey's (and its own) conventions; QuickJS guests see an absent option as `null`
 * and a 64-bit integer as a `number` (componentize-qjs's mappings), so their declarations say that.
 */
function forQuickJs(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) forQuickJs(path);
    else if (entry.endsWith('.d.ts')) writeFileSync(path, readFileSync(path, 'utf8').replace(/\bbigint\b/g, 'number').replace(/ \| undefined\b/g, ' | null').replace(/\?: ([^,;\n]+)([,;])/g, '?: $1 | null$2'));
  }
}

/** A TypeScript project's wit/ and the declarations generated from it (types/), for its world and engine; made anew. */
export function writeProjectWit(project: Project): void {
  if (project.build.language !== 'typescript') return;
  writeGuestWit(join(project.dir, 'wit'), project.build.world);
  writeTypes(project.dir, project.build.world, engineFor(project));
}

/** Pins the project's engine in its package.json (`wasmhost.engine`), where `wasmhost build` reads it. */
function setEngine(dir: string, engine: JsEngine): void {
  const path = join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(path, 'utf8')) as { wasmhost: Record<string, string> };
  pkg.wasmhost.engine = engine;
  writeFileSync(path, `${JSON.stringify(pkg, null, 2)}\n`);
}

/** `wasmhost new`: a workload project from a template, ready for `npm install`, build, test and start. */
export function scaffold(target: string, template: Template, name = basename(resolve(target)), engine?: JsEngine): string {
  const dir = resolve(target);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new WasmhostError('WH_ERR_CLI_USAGE', `${dir} exists and is not empty`);
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new WasmhostError('WH_ERR_CLI_USAGE', `project name ${JSON.stringify(name)}: use lowercase letters, digits and "-" (or pass --name)`);
  mkdirSync(dir, { recursive: true });
  cpSync(join(PACKAGE_ROOT, 'templates', template), dir, { recursive: true });
  renameSync(join(dir, 'gitignore'), join(dir, '.gitignore'));
  fillIn(dir, { name, wasmhost: `file:${PACKAGE_ROOT}` });
  if (engine) setEngine(dir, engine);
  const project = readProject(dir);
  if (project.build.language !== 'typescript' && engine) throw new WasmhostError('WH_ERR_CLI_USAGE', `--engine is for JavaScript projects; ${template} is built with clang`);
  writeProjectWit(project);
  return dir;
}
