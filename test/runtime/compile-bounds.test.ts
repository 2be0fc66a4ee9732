// Compiling is bounded: a component declaring thousands of imports is refused before the transpiler
// sees it, and a transpile that runs past its deadline is ended with a coded error.
import { parse } from '@bytecodealliance/jco';
import { componentEmbed, componentNew } from '@bytecodealliance/jco-transpile/wasm-tools';
import { join } from 'node:path';
import { Compiler } from '../../dist/runtime/compiler.js';
import { guestBytes, tempDir } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** A real component importing `count` functions. */
async function manyImports(count: number): Promise<Uint8Array> {
  const names = Array.from({ length: count }, (_, i) => `i${i}`);
  const wit = `package test:many;\nworld many {\n${names.map((n) => `  import ${n}: func();`).join('\n')}\n}\n`;
  const wat = `(module\n${names.map((n) => `  (import "$root" "${n}" (func))`).join('\n')}\n  (memory (export "memory") 1)\n)`;
  const embedded = await componentEmbed({ binary: await parse(wat), witSource: wit, world: 'many' } as Parameters<typeof componentEmbed>[0]);
  return componentNew(embedded, []);
}

it('a component with 5,000 imports is refused before transpiling, at once', async () => {
  const bytes = await manyImports(5000);
  const compiler = new Compiler(join(tmp.path, 'a'));
  const started = performance.now();
  await expect(compiler.compile(bytes, 'a'.repeat(64))).rejects.toMatchObject({ code: 'WH_ERR_COMPILE_FAILED', message: 'the component declares 5000 imports; at most 512 are allowed' });
  expect(performance.now() - started).toBeLessThan(500);
  await compiler.close();
}, 60_000);

it('a component with a few hundred imports still compiles', async () => {
  const compiler = new Compiler(join(tmp.path, 'b'));
  await expect(compiler.compile(await manyImports(300), 'b'.repeat(64))).resolves.toMatchObject({ meta: { kind: undefined } });
  await compiler.close();
}, 60_000);

it('a transpile past its deadline is ended with WH_ERR_COMPILE_FAILED; the next compile gets a fresh transpiler', async () => {
  const compiler = new Compiler(join(tmp.path, 'c'), 5);
  const sensor = guestBytes('temperature-sensor');
  await expect(compiler.compile(sensor.bytes, sensor.digest)).rejects.toMatchObject({ code: 'WH_ERR_COMPILE_FAILED', message: expect.stringMatching(/did not finish within 5 ms/) });
  await compiler.close();
  const patient = new Compiler(join(tmp.path, 'c'));
  const echo = guestBytes('echo');
  await expect(patient.compile(echo.bytes, echo.digest)).resolves.toMatchObject({ meta: { kind: 'handler' } });
  await patient.close();
}, 60_000);
