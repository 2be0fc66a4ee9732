import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { WasmhostError } from '../errors.js';
import { GUEST_WORLDS, PACKAGE_ROOT } from './guest-wit.js';
import { componentizeJs, ENGINE_PACKAGES, type JsEngine } from './js-engines.js';
import { bundleEntry } from './bundle.js';
import type { Project } from './project.js';
import { resolveTool } from './resolve-tool.js';

export interface BuildResult {
  readonly output: string;
  readonly bytes: number;
  readonly sha256: string;
  /** False when nothing changed since the last build. */
  readonly rebuilt: boolean;
}

const STAMP = '.build.json';

const fail = (message: string): never => {
  throw new WasmhostError('WH_ERR_BUILD_FAILED', message);
};

/** Build tools come from the project's own node_modules, else from wasmhost's (a checkout has both). */
const toolRoots = (project: Project) => [project.dir, PACKAGE_ROOT];

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

/** What the output depends on: sources, WIT, the project's settings, the tools' versions. */
function inputsHash(project: Project, tools: string[]): string {
  const hash = createHash('sha256');
  for (const path of [join(project.dir, 'package.json'), ...files(join(project.dir, 'src')), ...files(join(project.dir, 'wit')), ...tools]) {
    hash.update(relative(project.dir, path)).update(readFileSync(path));
  }
  return hash.digest('hex');
}

/** The JS exports each world needs (a world exporting wasi:http is served through the fetch event, not an export). */
const WORLD_EXPORTS: Record<string, readonly string[]> = { workload: ['handler'] };

/** Exports the world needs that the entry module lacks (engines differ in whether they notice at build time). */
function missingExports(program: import('typescript').Program, entry: string, world: string): string[] {
  const file = program.getSourceFile(entry);
  const checker = program.getTypeChecker();
  const symbol = file && checker.getSymbolAtLocation(file);
  const names = new Set(symbol ? checker.getExportsOfModule(symbol).map((s) => s.name) : []);
  return (WORLD_EXPORTS[world] ?? []).filter((name) => !names.has(name));
}

/** TypeScript: the whole project type-checked (its tsconfig), then the entry and what it imports bundled as one ES module. */
async function typescriptToJs(project: Project, entry: string, world: string): Promise<string> {
  const ts = (await import(resolveTool(toolRoots(project), 'typescript').url)).default as typeof import('typescript');
  const configPath = join(project.dir, 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail(ts.flattenDiagnosticMessageText(d.messageText, ' ')) })!;
  const program = ts.createProgram(config.fileNames, { ...config.options, noEmit: true });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length) {
    const lines = diagnostics.slice(0, 10).map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      const file = d.file ? `${relative(project.dir, d.file.fileName)}${where ? `(${where.line + 1},${where.character + 1})` : ''}: ` : '';
      return `${file}TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
    fail(`type errors:\n  ${lines.join('\n  ')}`);
  }
  const missing = missingExports(program, entry, world);
  if (missing.length) fail(`${relative(project.dir, entry)} does not export ${missing.map((m) => `\`${m}\``).join(', ')} (the world ${world} exports it)`);
  return bundleEntry(entry, toolRoots(project), project.dir);
}

async function buildTypescript(project: Project, entry: string, world: string, engine: JsEngine): Promise<Uint8Array> {
  const js = await typescriptToJs(project, entry, world);
  const http = GUEST_WORLDS[world]?.includes('wasi:http/') ?? false;
  return componentizeJs(engine, { js, witPath: join(project.dir, 'wit'), world, http, scratchDir: join(project.dir, 'dist'), toolRoots: toolRoots(project) });
}

function buildC(project: Project, entry: string): Uint8Array {
  const out = join(project.dir, 'dist', `.${project.name}.c.wasm`);
  try {
    execFileSync('clang-14', ['--target=wasm32-wasi', '--sysroot=/usr', '-O2', '-o', out, entry], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    fail(stderr ? `clang: ${stderr.split('\n').slice(0, 5).join('\n  ')}` : `clang-14 for wasm32-wasi is needed (apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32): ${(err as Error).message}`);
  }
  const bytes = readFileSync(out);
  rmSync(out, { force: true });
  return bytes;
}

/**
 * The engine a TypeScript project builds with: `--engine`, else its package.json's `wasmhost.engine`,
 * else QuickJS (smaller, faster; BENCHMARKS.md) unless it serves http (StarlingMonkey's fetch event).
 */
export function engineFor(project: Project, override?: JsEngine): JsEngine {
  if (override) return override;
  if (project.build.language === 'typescript' && project.build.engine) return project.build.engine;
  const http = project.build.language === 'typescript' && (GUEST_WORLDS[project.build.world]?.includes('wasi:http/') ?? false);
  return http ? 'spidermonkey' : 'quickjs';
}

/** `wasmhost build`: dist/<name>.wasm from the project's source, rebuilt only when an input changed. */
export async function buildProject(project: Project, engineOverride?: JsEngine): Promise<BuildResult> {
  const entry = join(project.dir, project.build.entry);
  if (!existsSync(entry)) fail(`${project.build.entry} does not exist`);
  const engine = engineFor(project, engineOverride);
  const tools = project.build.language === 'typescript' ? ['typescript', 'esbuild', ENGINE_PACKAGES[engine]].map((name) => join(resolveTool(toolRoots(project), name).dir, 'package.json')) : [];
  const hash = createHash('sha256').update(inputsHash(project, tools)).update(engine).digest('hex');
  const stampPath = join(project.dir, 'dist', STAMP);
  const stamp = existsSync(stampPath) ? (JSON.parse(readFileSync(stampPath, 'utf8')) as { hash: string; sha256: string }) : undefined;
  if (stamp?.hash === hash && existsSync(project.output)) return { output: project.output, bytes: statSync(project.output).size, sha256: stamp.sha256, rebuilt: false };
  mkdirSync(dirname(project.output), { recursive: true });
  const bytes = project.build.language === 'typescript' ? await buildTypescript(project, entry, project.build.world, engine) : buildC(project, entry);
  writeFileSync(project.output, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(stampPath, JSON.stringify({ hash, sha256 }));
  return { output: project.output, bytes: bytes.byteLength, sha256, rebuilt: true };
}
