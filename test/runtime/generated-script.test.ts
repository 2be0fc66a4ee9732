// A component's generated code is kept as a script and loaded with V8's code cache: the conversion of
// jco's module, the cache written once, taken when valid, and replaced when V8 refuses it.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGenerated, toScript } from '../../dist/runtime/generated-script.js';
import { tempDir } from '../helpers.js';

const GENERATED_SCRIPT = new URL('../../dist/runtime/generated-script.js', import.meta.url).href;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** The shape of jco's minified sync output: a directive, `export function instantiate`, `export const _util`. */
const JCO_LIKE = '"use components";let made=0;export function instantiate(e,t,n){made++;return{made,core:typeof n,strict:this===undefined}}export const _util={}';

function scriptFile(name: string, esm = JCO_LIKE): string {
  const file = join(tmp.path, `${name}.cjs`);
  writeFileSync(file, toScript(esm));
  return file;
}

const cacheOf = (file: string) => readdirSync(tmp.path).filter((f) => f.startsWith(`${file.split('/').pop()}.`) && f.endsWith('.v8cache'));
const EMPTY_MODULE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
const instantiate = (file: string) => loadGenerated<{ made: number; core: string; strict: boolean }>(file)(() => new WebAssembly.Module(EMPTY_MODULE), {}, (m) => new WebAssembly.Instance(m));

it("keeps the module's semantics: strict code, state of its own, its exports", () => {
  const file = scriptFile('plain');
  expect(instantiate(file)).toEqual({ made: 1, core: 'function', strict: true });
  expect(readFileSync(file, 'utf8')).not.toMatch(/\bexport /);
});

it('refuses generated code it does not know, rather than load it half-converted', () => {
  expect(() => toScript('import x from "y";export function instantiate(){}')).toThrow(/import statement/);
  expect(() => toScript('export function instantiate(){return import.meta.url}')).toThrow(/import\.meta/);
  expect(() => toScript('export default function(){}')).toThrow('generated code has no instantiate export');
});

/** Loads `file` in a process of its own (a fresh isolate, as each worker is) and instantiates it once. */
function loadInProcess(file: string): { made: number; strict: boolean } {
  const code = `import { loadGenerated } from ${JSON.stringify(GENERATED_SCRIPT)}; const out = loadGenerated(${JSON.stringify(file)})(() => undefined, {}, () => undefined); process.stdout.write(JSON.stringify(out));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as { made: number; strict: boolean };
}

it('writes the code cache after the first instantiation, and takes it from then on', () => {
  const file = scriptFile('cached');
  expect(loadInProcess(file)).toMatchObject({ made: 1, strict: true });
  const [cache] = cacheOf(file);
  expect(cache).toBeDefined();
  const written = statSync(join(tmp.path, cache!)).ino;
  expect(loadInProcess(file)).toMatchObject({ made: 1, strict: true });
  expect(statSync(join(tmp.path, cache!)).ino).toBe(written); // taken: not written again
  expect(readdirSync(tmp.path).filter((f) => f.includes('.tmp-'))).toEqual([]);
});

it('replaces a cache V8 refuses (damaged, or from another build) and still loads', () => {
  const file = scriptFile('damaged');
  loadInProcess(file);
  const [cache] = cacheOf(file);
  writeFileSync(join(tmp.path, cache!), Buffer.from('not a code cache'));
  expect(loadInProcess(file)).toMatchObject({ made: 1, strict: true });
  expect(readFileSync(join(tmp.path, cache!)).byteLength).toBeGreaterThan(100);
});
