// WASI preview1 conformance (issue: portable guests): one small C program (Debian clang + wasi-libc)
// per failure class, each run as users run it: `wasmhost run`, and as a command workload whose stdout
// lines become telemetry. Both must print the same, right, lines.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OutboundMessage } from '../../dist/base/index.js';
import { validateDesired } from '../../dist/spec/index.js';
import { CLI, guestPath, tempDir, waitFor } from '../helpers.js';
import { testSupervisor } from '../supervisor-harness.js';

const tmp = tempDir();
const sent: OutboundMessage[] = [];
const supervisor = testSupervisor(tmp.path, { sink: { send: (m) => sent.push(m) } });
afterAll(async () => {
  await supervisor.shutdown();
  tmp.cleanup();
});

interface Case {
  readonly guest: string;
  readonly args?: string[];
  readonly env?: Record<string, string>;
  readonly storage?: boolean;
  readonly memoryMb?: number;
}

/** `wasmhost run`: stdout lines and the exit status. */
function cliRun({ guest, args = [], env = {}, storage, memoryMb }: Case): { lines: string[]; code: number | null } {
  const flags = [...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]), ...(memoryMb ? ['--memory-mb', String(memoryMb)] : [])];
  if (storage) {
    const dir = join(tmp.path, 'cli', guest);
    mkdirSync(dir, { recursive: true });
    flags.push('--dir', `${dir}::/data`);
  }
  const r = spawnSync(process.execPath, [CLI, 'run', ...flags, guestPath(guest), '--', ...args], { env: { PATH: process.env.PATH, WASMHOST_DATA_DIR: tmp.path }, encoding: 'utf8', timeout: 60_000 });
  return { lines: r.stdout.split('\n').filter(Boolean), code: r.status };
}

/** A command workload named after the guest: its stdout lines as they arrive, and how it ended. */
async function workloadRun(c: Case): Promise<{ lines: string[]; exitCode: number | null }> {
  const name = c.guest;
  await supervisor.apply(validateDesired({
    schemaVersion: '1.0',
    workloads: {
      [name]: {
        source: `file://${c.guest}.wasm`, args: c.args ?? [], env: c.env ?? {}, restartPolicy: 'never',
        ...(c.storage ? { capabilities: { storage: { quotaMb: 16 } } } : {}),
        ...(c.memoryMb ? { limits: { memoryMb: c.memoryMb } } : {}),
      },
    },
  }, { allowUnpinned: true }));
  const status = await waitFor(`${name} ended`, () => supervisor.list().find((s) => s.name === name && (s.status === 'stopped' || s.status === 'failed')), 60_000);
  await new Promise((r) => setTimeout(r, 100)); // its last lines
  return { lines: sent.filter((m) => m.workload === name).map((m) => Buffer.from(m.msg.body as Uint8Array).toString()), exitCode: status.lastExitCode };
}

describe('WASI preview1 programs, under wasmhost run and as command workloads', () => {
  it('a heap grown to 200 KB, 1, 16 and 200 MB before the first WASI call, then printf', async () => {
    const expected = ['block 204800 bytes: sum 1225', 'block 1048576 bytes: sum 32640', 'block 16777216 bytes: sum 522240', 'block 209715200 bytes: sum 6528000'];
    expect(cliRun({ guest: 'p1-heap', memoryMb: 256 })).toEqual({ lines: expected, code: 0 });
    expect(await workloadRun({ guest: 'p1-heap', memoryMb: 256 })).toEqual({ lines: expected, exitCode: 0 });
  }, 120_000);

  it('arguments and environment with several entries (argv[0] names the program)', async () => {
    const c = { guest: 'p1-args', args: ['one', 'two words', ''], env: { A: '1', B: 'two', C: 'x=y' } };
    const rest = ['arg 1=one', 'arg 2=two words', 'arg 3=', 'env A=1', 'env B=two', 'env C=x=y'];
    expect(cliRun(c)).toEqual({ lines: ['arg 0=p1-args', ...rest], code: 0 });
    expect((await workloadRun(c)).lines).toEqual(['arg 0=p1-args', ...rest]);
  }, 60_000);

  it('proc_exit(33) arrives as exit status 33, not 1', async () => {
    expect(cliRun({ guest: 'p1-exit', args: ['33'] }).code).toBe(33);
    expect(cliRun({ guest: 'p1-exit', args: ['255'] }).code).toBe(255);
    expect((await workloadRun({ guest: 'p1-exit', args: ['33'] })).exitCode).toBe(33);
    expect(supervisor.list().find((s) => s.name === 'p1-exit')).toMatchObject({ lastExitReason: 'exit', lastExitCode: 33 });
  }, 60_000);

  it('fd_write to a descriptor that is not open is EBADF, and the program goes on', async () => {
    const expected = ['write(7) = -1 errno=EBADF', 'write(42) = -1 errno=EBADF', 'write(1000) = -1 errno=EBADF', 'still running'];
    expect(cliRun({ guest: 'p1-badf' })).toEqual({ lines: expected, code: 0 });
    expect((await workloadRun({ guest: 'p1-badf' })).lines).toEqual(expected);
  }, 60_000);

  it('file timestamps set through a descriptor and through a path read back; a symlink has its own', async () => {
    const expected = [
      'futimens=0', 'fd atime=1000000000 mtime=1100000000',
      'utimensat=0', 'path atime=1200000000 mtime=1300000000',
      'symlink=0', 'utimensat nofollow=0', 'link is symlink=1 mtime=1500000000', 'through link mtime=1300000000',
    ];
    expect(cliRun({ guest: 'p1-times', storage: true })).toEqual({ lines: expected, code: 0 });
    expect((await workloadRun({ guest: 'p1-times', storage: true })).lines).toEqual(expected);
  }, 60_000);

  it('paths with trailing slashes, "." and ".." on existing and missing files', async () => {
    const expected = [
      'stat /data/dir/ -> dir',
      'stat /data/dir/. -> dir',
      'stat /data/dir/.. -> dir',
      'stat /data/dir/file -> file',
      'stat /data/dir/file/ -> Not a directory',
      'stat /data/dir/file/. -> Not a directory',
      'stat /data/dir/missing/ -> No such file or directory',
      'stat /data/dir/../dir/file -> file',
      'stat /data/.. -> Operation not permitted', // out of the sandbox
      'open /data/dir/file/ -> Not a directory',
      'open /data/dir/new/ -> Is a directory',
      'open /data/dir/./file -> ok',
      'open /data/dir/missing/../file -> No such file or directory',
      'mkdir trailing -> ok',
      'rmdir dot -> Invalid argument',
      'unlink trailing -> Not a directory',
    ];
    expect(cliRun({ guest: 'p1-paths', storage: true })).toEqual({ lines: expected, code: 0 });
    expect((await workloadRun({ guest: 'p1-paths', storage: true })).lines).toEqual(expected);
  }, 60_000);

  it('stdin: a workload reads end-of-file at once (never the module\'s stdin); wasmhost run passes its own through', async () => {
    expect((await workloadRun({ guest: 'p1-stdin' })).lines).toEqual(['read 0 bytes (last read 0)']);
    const r = spawnSync(process.execPath, [CLI, 'run', guestPath('p1-stdin')], { env: { PATH: process.env.PATH, WASMHOST_DATA_DIR: tmp.path }, input: 'hello\n', encoding: 'utf8' });
    expect(r.stdout).toBe('read 6 bytes (last read 0)\n');
  }, 60_000);
});
