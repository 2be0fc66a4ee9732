import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, freePort, guestPath, tempDir, waitFor } from '../helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function wasmhost(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, WASMHOST_DATA_DIR: join(tmp.path, 'data'), ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('wasmhost run', () => {
  it('passes a command stdout straight through, gives it its args, and exits 0', () => {
    const r = wasmhost(['run', guestPath('hello'), '--', 'a', 'b']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"line":1,"args":3}\n{"line":2,"args":3}\n{"line":3,"args":3}\n');
    expect(r.stderr).toBe('hello: sent 3 lines\n');
  });

  it('exits with the guest exit status (a preview1 exit(3) is 3)', () => {
    const r = wasmhost(['run', guestPath('exit-code')]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('{"exiting":3}\n');
  });

  it('--env sets exactly the environment; the host environment never leaks', () => {
    const r = wasmhost(['run', '--env', 'A=1', guestPath('env')], { SECRET_TOKEN: 'x' });
    expect(r.stdout).toBe('{"env":"A=1"}\n{"count":1}\n');
  });

  it('--dir grants exactly the named directory', () => {
    const dir = join(tmp.path, 'granted');
    mkdirSync(dir);
    const r = wasmhost(['run', '--dir', `${dir}::/data`, guestPath('escape')]);
    expect(r.stdout).toContain('{"ownFile":"written"}');
    expect(r.stdout).not.toContain('LEAKED');
    expect(r.code).toBe(1);
  });

  it('a trap exits 134 with one clear line', () => {
    const r = wasmhost(['run', '--timer-ms', '20', guestPath('trap')]);
    expect(r.code).toBe(134);
    expect(r.stderr.trim().split('\n')).toEqual(['wasmhost: WH_ERR_TRAP: wasm trap: wasm `unreachable` instruction executed']);
  });

  it.each([
    [['run'], 2, 'usage: wasmhost run'],
    [['run', 'missing.wasm'], 2, 'missing.wasm: no such file'],
    [['run', '--nope', 'x'], 2, "Unknown option '--nope'"],
    [['run', '--env', 'NOEQUALS', 'x.wasm'], 2, '--env expects KEY=VALUE'],
    [['run', '--listen', 'host:99999', 'x.wasm'], 2, '--listen expects [HOST:]PORT'],
    [['frobnicate'], 2, 'unknown command'],
  ])('user mistakes %j exit %i with one line, never a stack', (args, code, message) => {
    const r = wasmhost(args);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--listen serves an http component until Ctrl-C, as wasmtime serve does', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'run', '--listen', String(port), '--memory-mb', '128', guestPath('http-echo')], { env: { PATH: process.env.PATH, WASMHOST_DATA_DIR: join(tmp.path, 'data') } });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    await waitFor('serving', () => stderr.includes(`serving http on http://127.0.0.1:${port}/`), 30_000);
    expect(await (await fetch(`http://127.0.0.1:${port}/cli`, { method: 'POST', body: 'hi' })).json()).toEqual({ method: 'POST', path: '/cli', bytes: 2, body: 'hi' });
    await waitFor('its telemetry on stdout', () => stdout.includes('"output":"requests"'));
    child.kill('SIGINT');
    expect(await new Promise((r) => child.once('exit', r))).toBe(0);
  }, 40_000);

  it('gives a guest that imports kv a store for the run, removed at its end; no run leaves a directory behind', async () => {
    const tmpdir = join(tmp.path, 'tmpdir');
    mkdirSync(tmpdir);
    const env = { PATH: process.env.PATH, WASMHOST_DATA_DIR: join(tmp.path, 'data'), TMPDIR: tmpdir };
    expect(wasmhost(['run', guestPath('hello')], { TMPDIR: tmpdir }).code).toBe(0);
    expect(readdirSync(tmpdir)).toEqual([]);
    const child = spawn(process.execPath, [CLI, 'run', guestPath('threshold-filter')], { env });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await waitFor('init, which reads kv', () => stderr.includes('guest: filter ready') && stderr, 30_000);
    expect(stderr).toContain('0 forwarded so far');
    expect(readdirSync(tmpdir)).toEqual([expect.stringMatching(/^wasmhost-run-kv-/)]);
    child.kill('SIGINT');
    expect(await new Promise((r) => child.once('exit', r))).toBe(0);
    expect(readdirSync(tmpdir)).toEqual([]);
  }, 40_000);

  it('ends cleanly on a Ctrl-C that lands while init still runs', async () => {
    const tmpdir = join(tmp.path, 'tmpdir-init');
    mkdirSync(tmpdir);
    const child = spawn(process.execPath, [CLI, 'run', guestPath('init-hangs')], { env: { PATH: process.env.PATH, WASMHOST_DATA_DIR: join(tmp.path, 'data'), TMPDIR: tmpdir } });
    // Its kv directory is made just before the run starts the guest, and so init.
    await waitFor('the run to begin', () => readdirSync(tmpdir).length === 1, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    child.kill('SIGINT');
    expect(await new Promise((r) => child.once('exit', r))).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000); // not the 10 s call deadline
    expect(readdirSync(tmpdir)).toEqual([]);
  }, 40_000);

  it('refuses a file that is not wasm', () => {
    const file = join(tmp.path, 'text.wasm');
    writeFileSync(file, 'hello');
    const r = wasmhost(['run', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('wasmhost: WH_ERR_NOT_WASM: the blob does not start with the WebAssembly magic number');
  });
});

describe('wasmhost inspect and validate', () => {
  it('inspect prints kind, imports and exports', () => {
    const r = wasmhost(['inspect', guestPath('threshold-filter')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^kind: handler\ndigest: sha256:[0-9a-f]{64}\nimports:\n/);
    expect(r.stdout).toContain('  edge:host/kv\n');
    expect(r.stdout).toContain('  edge:host/handler@0.1.0\n');
    expect(wasmhost(['inspect', guestPath('hello')]).stdout).toContain('kind: command\n');
  });

  it('validate prints every error and exits 1; a good document exits 0', () => {
    const bad = join(tmp.path, 'bad.json');
    writeFileSync(bad, JSON.stringify({ schemaVersion: '1.0', workloads: { a: { source: 'file://a.wasm' }, b: { source: 'file://b', sha256: 'f'.repeat(64), limits: { memoryMb: 0 }, extra: 1 } } }));
    const r = wasmhost(['validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      'error: workloads.a.sha256: sha256 is required (set WASMHOST_ALLOW_UNPINNED=true for development)\n' +
        'error: workloads.b.limits.memoryMb: Too small: expected number to be >=1\n' +
        '0 workload(s) valid, 2 error(s), 0 warning(s)\n',
    );
    const good = join(tmp.path, 'good.json');
    writeFileSync(good, JSON.stringify({ schemaVersion: '1.0', workloads: { a: { source: 'file://a.wasm', sha256: 'f'.repeat(64), colour: 1 } } }));
    expect(wasmhost(['validate', good])).toMatchObject({ code: 0, stdout: 'warning: workloads.a.colour: unknown key, ignored\n1 workload(s) valid, 0 error(s), 1 warning(s)\n' });
    expect(wasmhost(['validate', join(tmp.path, 'none.json')])).toMatchObject({ code: 2 });
  });
});
