import { relative } from 'node:path';
import { WasmhostError } from '../errors.js';
import { resolveTool } from './resolve-tool.js';

/** Imports the host serves: left to the component's imports, never bundled. */
const HOST_INTERFACES = ['edge:*', 'wasi:*', 'wasm-graph:*'];

interface EsbuildMessage { text: string; location: { file: string; line: number; column: number } | null }

/**
 * A guest's entry and everything it imports (its own modules, npm packages written for any JS
 * platform) as one ES module, types stripped, for an engine to componentize. esbuild: no type check
 * here (the project's tsconfig did that), only bundling.
 */
export async function bundleEntry(entry: string, toolRoots: readonly string[], baseDir: string): Promise<string> {
  const esbuild = (await import(resolveTool(toolRoots, 'esbuild').url)) as typeof import('esbuild');
  try {
    const result = await esbuild.build({
      entryPoints: [entry], bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', mainFields: ['module', 'main'],
      external: HOST_INTERFACES, write: false, logLevel: 'silent', charset: 'utf8',
    });
    return result.outputFiles[0]!.text;
  } catch (err) {
    const errors = ((err as { errors?: EsbuildMessage[] }).errors ?? []).slice(0, 5);
    const lines = errors.map((e) => (e.location ? `${relative(baseDir, e.location.file)}(${e.location.line},${e.location.column + 1}): ${e.text}` : e.text));
    throw new WasmhostError('WH_ERR_BUILD_FAILED', `bundling ${relative(baseDir, entry)}: ${lines.join('; ') || (err as Error).message}`);
  }
}
