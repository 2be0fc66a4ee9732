import { usage } from './args.js';
import { loadForCli } from './load.js';
import { operatorExports } from '../base/index.js';

/** The standard interfaces (design.md "Portable guests") served beside edge:host. */
const STANDARD = /^wasi:(keyvalue|config|logging)\//;

function standardInterfaces(imports: readonly string[]): string[] {
  const used = imports.filter((i) => STANDARD.test(i)).sort();
  return used.length ? [`standard interfaces: ${used.join(', ')}`] : [];
}

/** A data flow operator module: which operators a graph's nodes may use it for. */
function operatorLine(exports: readonly string[]): string[] {
  const operators = operatorExports(exports);
  return operators.length ? [`data flow operators (wasm-graph:processor): ${operators.join(', ')}`] : [];
}

/** `wasmhost inspect <file.wasm>`: kind, digest, imports and exports. */
export async function inspectCommand(args: string[]): Promise<number> {
  if (args.length !== 1) throw usage('usage: wasmhost inspect <file.wasm>');
  const { engine, compiled } = await loadForCli(args[0]!);
  await engine.close();
  const { meta } = compiled;
  const lines = [
    `kind: ${meta.kind ?? (operatorExports(meta.exports).length ? 'operator module (runs in a graph workload)' : 'unknown (exports neither edge:host/handler nor wasi:cli/run)')}`,
    `digest: sha256:${compiled.digest}`,
    ...(meta.adaptedFromPreview1 ? ['format: WASI preview1 core module (adapted to a component)'] : []),
    ...standardInterfaces(meta.imports),
    ...operatorLine(meta.exports),
    'imports:',
    ...meta.imports.map((i) => `  ${i}`),
    'exports:',
    ...meta.exports.map((e) => `  ${e}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
