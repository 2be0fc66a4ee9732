// The guest developer's loop, tried as a new user would from an empty folder: wasmhost new for each
// template, npm install (the wasmhost checkout as a file: dependency, offline), build, test, a wrong
// expectation, run, and tsc on the generated TypeScript.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, tempDir } from '../helpers.js';

const tmp = tempDir('wasmhost-devloop-');
afterAll(() => tmp.cleanup());

const env = { PATH: process.env.PATH, HOME: process.env.HOME, WASMHOST_DATA_DIR: join(tmp.path, '.data') };
const sh = (cwd: string, command: string, args: string[], timeout = 180_000): SpawnSyncReturns<string> => spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout });
const wasmhost = (cwd: string, ...args: string[]) => sh(cwd, process.execPath, [CLI, ...args]);
const npm = (cwd: string, ...args: string[]) => sh(cwd, 'npm', args);

/** new + npm install + build: the project's folder and the build's one line. */
function makeProject(name: string, template: string): { dir: string; built: string } {
  const created = wasmhost(tmp.path, 'new', name, '--template', template);
  expect(created.stderr).toBe('');
  expect(created.stdout).toContain(`created ${name} (${template})`);
  const dir = join(tmp.path, name);
  const install = npm(dir, 'install', '--offline', '--no-audit', '--no-fund');
  expect(install.status).toBe(0);
  const build = npm(dir, 'run', '--silent', 'build');
  expect(build.stderr).toBe('');
  expect(build.status).toBe(0);
  return { dir, built: build.stdout.trim() };
}

/** `npm test` passes; then one expectation made wrong fails, showing expected against actual. */
function testPassesThenFails(dir: string, wrong: (text: string) => string, diff: RegExp): void {
  const ok = npm(dir, 'test', '--silent');
  expect(ok.stdout).toContain('1 passed, 0 failed');
  expect(ok.status).toBe(0);
  const file = join(dir, 'tests', 'basic.test.json');
  const original = readFileSync(file, 'utf8');
  writeFileSync(file, wrong(original));
  const bad = npm(dir, 'test', '--silent');
  expect(bad.status).toBe(1);
  expect(bad.stdout).toMatch(diff);
  expect(bad.stdout).toContain('0 passed, 1 failed');
  writeFileSync(file, original);
}

const tsc = (dir: string) => sh(dir, process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', '.']);

describe('wasmhost new / build / test', () => {
  it('handler-ts: builds (then is up to date), its tests pass, a wrong expectation shows a diff, run prints telemetry, tsc passes', async () => {
    const { dir, built } = makeProject('my-sensor', 'handler-ts');
    // QuickJS by default: a component of a couple of MB (SpiderMonkey's are ~12)
    expect(built).toMatch(/^built dist\/my-sensor\.wasm \([12]\.\d MB\) sha256:[0-9a-f]{64}$/);
    expect(npm(dir, 'run', '--silent', 'build').stdout).toMatch(/^up to date: dist\/my-sensor\.wasm/);
    testPassesThenFails(dir, (t) => t.replace('"count": 2', '"count": 3'), /FAIL basic\.test\.json.*\n  step 3 \(method count\): result\n\s+expected: \{"count":3\}\n\s+actual:   \{"count":2\}/);
    // The same project with the other engine: built anew (the engine is an input), and its tests pass too.
    const spiderMonkey = wasmhost(dir, 'build', '--engine', 'spidermonkey');
    expect(spiderMonkey.stdout).toMatch(/^built dist\/my-sensor\.wasm \(1\d\.\d MB\)/);
    expect(npm(dir, 'test', '--silent').stdout).toContain('1 passed, 0 failed');
    expect(wasmhost(dir, 'build').stdout).toMatch(/^built dist\/my-sensor\.wasm \([12]\.\d MB\)/);
    expect(tsc(dir).status).toBe(0);
    const firstLine = await new Promise<string>((resolve) => {
      const run = spawn(process.execPath, [CLI, 'run', '--config', 'site=lab', '--timer-ms', '200', 'dist/my-sensor.wasm'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      run.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) run.kill('SIGINT');
      });
      run.on('exit', () => resolve(out.split('\n')[0]!));
    });
    expect(firstLine).toMatch(/"workload":"my-sensor","output":"ticks".*"body":\{"site":"lab","tick":1\}/);
  }, 240_000);

  it('a type error, and a component without the handler export, fail the build with one clear message', () => {
    const dir = join(tmp.path, 'my-sensor');
    const source = join(dir, 'src', 'index.ts');
    const original = readFileSync(source, 'utf8');
    writeFileSync(source, original.replace("send('ticks', json(", "send(42, json("));
    const typeError = npm(dir, 'run', '--silent', 'build');
    expect(typeError.status).toBe(1);
    expect(typeError.stderr).toMatch(/^wasmhost: WH_ERR_BUILD_FAILED: type errors:\n  src\/index\.ts\(\d+,\d+\): TS2345: Argument of type 'number' is not assignable/);
    writeFileSync(source, original.replace('export const handler: typeof Handler', 'const handler: typeof Handler'));
    const noExport = npm(dir, 'run', '--silent', 'build');
    expect(noExport.status).toBe(1);
    expect(noExport.stderr).toMatch(/^wasmhost: WH_ERR_BUILD_FAILED: src\/index\.ts does not export `handler`/);
    // Code split over files is bundled into the one component; an import that does not resolve says where.
    writeFileSync(join(dir, 'src', 'site.ts'), "export const siteOf = (value: string | null | undefined): string => value ?? 'unknown';\n");
    writeFileSync(source, `import { siteOf } from './site';\n${original.replaceAll("get('site') ?? 'unknown'", "siteOf(get('site'))")}`);
    expect(npm(dir, 'run', '--silent', 'build').status).toBe(0);
    expect(npm(dir, 'test', '--silent').stdout).toContain('1 passed, 0 failed');
    writeFileSync(source, `import { siteOf } from './nowhere';\n${original}`);
    const unresolved = npm(dir, 'run', '--silent', 'build');
    expect(unresolved.status).toBe(1);
    expect(unresolved.stderr).toMatch(/WH_ERR_BUILD_FAILED: type errors:\n  src\/index\.ts\(1,\d+\): TS2307: Cannot find module '\.\/nowhere'/);
    writeFileSync(source, original);
  }, 120_000);

  it('http-ts: builds, its tests pass (requests and telemetry), a wrong status fails, run answers HTTP, tsc passes', async () => {
    const { dir } = makeProject('my-api', 'http-ts');
    testPassesThenFails(dir, (t) => t.replace('"status": 200', '"status": 201'), /step 1 \(request GET \/status\): status\n\s+expected: 201\n\s+actual:   200/);
    expect(tsc(dir).status).toBe(0);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const server = spawn(process.execPath, [CLI, 'run', '--config', 'greeting=hey', '--listen', `127.0.0.1:${port}`, 'dist/my-api.wasm'], { cwd: dir, env, stdio: 'ignore' });
    try {
      let body: unknown;
      for (let i = 0; i < 100 && body === undefined; i++) {
        body = await fetch(`http://127.0.0.1:${port}/hello`).then((r) => r.json(), () => undefined);
        if (body === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      expect(body).toMatchObject({ path: '/hello', hits: 1, greeting: 'hey' });
    } finally {
      server.kill('SIGINT');
    }
  }, 240_000);

  it('command-c: builds with clang, its tests pass, a wrong line fails, run prints its output', () => {
    const { dir, built } = makeProject('my-job', 'command-c');
    expect(built).toMatch(/^built dist\/my-job\.wasm \([\d.]+ KB\) sha256:[0-9a-f]{64}$/);
    testPassesThenFails(dir, (t) => t.replace('"reading": 2', '"reading": 5'), /step 1 \(run\): telemetry\n\s+expected: .*"reading":5.*\n\s+actual:   .*"reading":2/);
    const run = sh(dir, process.execPath, [CLI, 'run', '--env', 'SITE=lab', 'dist/my-job.wasm', '--', '2']);
    expect(run.stdout).toBe('{"site":"lab","reading":1}\n{"site":"lab","reading":2}\n');
    expect(run.status).toBe(0);
  }, 120_000);
});
