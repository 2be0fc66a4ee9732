// Builds the sample and test guests into guest-modules/dist/. Cached: a guest is rebuilt only when its
// sources, the WIT or the tool versions change, so a second run takes well under a second.
// Run through `npm run build:guests` (it preloads scripts/preopen-root.mjs for the build tools).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'guest-modules');
const out = join(src, 'dist');
const witDir = join(root, 'wit');
const witSource = readFileSync(join(witDir, 'host.wit'), 'utf8');
const hashFile = join(out, '.build-hashes.json');
const versions = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
const toolVersions = `${versions('@bytecodealliance/componentize-js')}|${versions('@bytecodealliance/jco')}|${versions('typescript')}`;

mkdirSync(out, { recursive: true });
const hashes = existsSync(hashFile) ? JSON.parse(readFileSync(hashFile, 'utf8')) : {};
const only = process.argv.slice(2);
let built = 0;

async function guest(name, inputs, build) {
  if (only.length && !only.includes(name)) return;
  const hash = createHash('sha256').update(toolVersions).update(witSource);
  for (const input of inputs) hash.update(readFileSync(input));
  const digest = hash.digest('hex');
  const target = join(out, `${name}.wasm`);
  if (hashes[name] === digest && existsSync(target)) return;
  const started = Date.now();
  writeFileSync(target, await build());
  hashes[name] = digest;
  writeFileSync(hashFile, JSON.stringify(hashes, null, 2));
  built++;
  console.log(`built ${name}.wasm in ${Date.now() - started} ms`);
}

// TypeScript guests: strip types, then componentize-js (SpiderMonkey) against the workload world.
for (const name of ['temperature-sensor', 'threshold-filter']) {
  const entry = join(src, name, 'index.ts');
  await guest(name, [entry], async () => {
    const { componentize } = await import('@bytecodealliance/componentize-js');
    const js = ts.transpileModule(readFileSync(entry, 'utf8'), { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
    const tmp = join(out, `.${name}.js`);
    writeFileSync(tmp, js);
    try {
      const { component } = await componentize({ sourcePath: tmp, witPath: witDir, worldName: 'workload', disableFeatures: ['http', 'stdio'] });
      return component;
    } finally {
      rmSync(tmp, { force: true });
    }
  });
}

// WAT test guests: prelude + handler bodies, embedded with the WIT (plus wasi:cli/exit where imported).
const EXIT_WIT = `\npackage wasi:cli@0.2.0 { interface exit { exit: func(status: result); } }\n`;
const prelude = readFileSync(join(src, 'wat', 'prelude.wat'), 'utf8');
for (const file of readdirSync(join(src, 'wat')).filter((f) => f.endsWith('.wat') && f !== 'prelude.wat')) {
  const path = join(src, 'wat', file);
  await guest(basename(file, '.wat'), [path, join(src, 'wat', 'prelude.wat')], async () => {
    const { parse, componentEmbed, componentNew } = await import('@bytecodealliance/jco');
    const body = readFileSync(path, 'utf8');
    const imports = body.split('\n').filter((l) => l.startsWith('(import'));
    const rest = body.split('\n').filter((l) => !l.startsWith('(import'));
    const [firstImport, ...preludeRest] = prelude.trimStart().split('\n');
    const wat = `(module\n${firstImport}\n${imports.join('\n')}\n${preludeRest.join('\n')}\n${rest.join('\n')}\n)`;
    const usesExit = imports.some((l) => l.includes('wasi:cli/exit'));
    const wit = usesExit ? witSource.replace('world workload {', 'world workload {\n  import wasi:cli/exit@0.2.0;') + EXIT_WIT : witSource;
    const embedded = await componentEmbed({ binary: await parse(wat), witSource: wit, world: 'workload' });
    return componentNew(embedded, []);
  });
}

// C guests: WASI preview1 command modules (Debian clang-14 + wasi-libc); the host adapts them at pull time.
for (const file of readdirSync(join(src, 'c')).filter((f) => f.endsWith('.c'))) {
  const path = join(src, 'c', file);
  await guest(basename(file, '.c'), [path], async () => {
    const target = join(out, `.${basename(file, '.c')}.wasm`);
    try {
      execFileSync('clang-14', ['--target=wasm32-wasi', '--sysroot=/usr', '-O2', '-o', target, path], { stdio: 'inherit' });
    } catch (err) {
      throw new Error(`clang-14 for wasm32-wasi is needed for ${file} (apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32): ${err.message}`);
    }
    const bytes = readFileSync(target);
    rmSync(target);
    return bytes;
  });
}

console.log(built ? `guests: ${built} built` : 'guests: up to date');
