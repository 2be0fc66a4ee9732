/**
 * Transpiler process. jco-transpile needs ~240 MB while it runs (field notes), so it lives in a child
 * process that the Compiler ends when idle: the memory goes back to the system (a thread's would stay
 * in the host's allocator: 235 MB resident after the samples' compile, against 88 MB with a warm
 * cache), the host's main thread never blocks on a transpile, and a transpile that brings V8 down
 * brings down only this process.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { transpileBytes } from '@bytecodealliance/jco-transpile';
import { componentNew } from '@bytecodealliance/jco-transpile/wasm-tools';
import { COMPONENT_FILE, META_FILE, type CompileRequest, type CompileResponse, type CompiledMeta } from './compile-format.js';
import { isCoreModule, producers } from './binary.js';
import type { WorkloadKind } from './protocol.js';
import { isInterface } from '../base/index.js';
import { toScript } from './generated-script.js';

const PREVIEW1_ADAPTER = new URL('../../vendor/wasi-preview1-adapter/wasi_snapshot_preview1.command.wasm', import.meta.url);

/** jco 1.35's generated code reads process.env.JCO_DEBUG on every call; a constant is ~45% faster. */
const JCO_DEBUG_READ = /globalThis\?\.process\?\.env\?\.JCO_DEBUG/g;

async function compile(request: CompileRequest): Promise<CompiledMeta> {
  let component = request.bytes;
  const adaptedFromPreview1 = isCoreModule(component);
  if (adaptedFromPreview1) {
    // A WASI preview1 program (seed-style wasm32-wasi): adapt to a component with jco's command adapter.
    const adapter = await readFile(PREVIEW1_ADAPTER);
    component = await componentNew(component, [['wasi_snapshot_preview1', adapter]]);
  }
  const result = await transpileBytes(component, { name: 'component', instantiation: 'sync', base64Cutoff: 0, emitTypescriptDeclarations: false, minify: true } as Parameters<typeof transpileBytes>[1]);
  const exports = result.exports.map(([name]) => name);
  const meta: CompiledMeta = {
    kind: kindOf(exports),
    imports: result.imports,
    exports,
    coreModules: Object.keys(result.files).filter((f) => f.endsWith('.wasm')),
    adaptedFromPreview1,
    instancePerRequest: producers(component).get('processed-by')?.includes('ComponentizeJS') ?? false,
  };
  const tmp = `${request.outDir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  for (const [file, bytes] of Object.entries(result.files)) {
    if (file.endsWith('.d.ts')) continue;
    const generated = file === 'component.js';
    const target = generated ? COMPONENT_FILE : file;
    const data = generated ? toScript(Buffer.from(bytes).toString('utf8').replace(JCO_DEBUG_READ, 'false')) : bytes;
    await mkdir(dirname(join(tmp, target)), { recursive: true });
    await writeFile(join(tmp, target), data);
  }
  await writeFile(join(tmp, META_FILE), JSON.stringify(meta));
  await rm(request.outDir, { recursive: true, force: true });
  await rename(tmp, request.outDir);
  return meta;
}

function kindOf(exports: string[]): WorkloadKind | undefined {
  const has = (iface: string) => exports.some((e) => isInterface(e, iface));
  if (has('edge:host/handler')) return 'handler';
  if (has('wasi:cli/run')) return 'command';
  if (has('wasi:http/incoming-handler')) return 'http';
  return undefined;
}

const reply = (response: CompileResponse) => process.connected && process.send!(response);

process.on('message', (request: CompileRequest) => {
  compile(request).then(
    (meta) => reply({ id: request.id, ok: true, meta }),
    (err: unknown) => reply({ id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0)); // the host is gone, or ended us for being idle
