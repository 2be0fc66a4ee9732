// Portable guests (issue: standard WASI interfaces): components written for wasmCloud or Spin import
// wasi:keyvalue, wasi:config and wasi:logging; the host serves them from the workload's own kv, config
// and log. Both guests are TypeScript built by the repository's guest build (componentize-js).
import { validateDesired } from '../../dist/spec/index.js';
import { CLI, freePort, guestPath, tempDir, waitFor } from '../helpers.js';
import { testSupervisor } from '../supervisor-harness.js';
import { spawnSync } from 'node:child_process';

const tmp = tempDir();
const supervisor = testSupervisor(tmp.path);
let port = 0;

beforeAll(async () => {
  port = await freePort();
  await supervisor.apply(validateDesired({
    schemaVersion: '1.0',
    workloads: {
      web: { source: 'file://portable-http.wasm', config: { greeting: 'hello from wasi:config' }, capabilities: { listen: { port } }, limits: { memoryMb: 128 } },
      state: { source: 'file://portable-handler.wasm', limits: { memoryMb: 128 } },
    },
  }, { allowUnpinned: true }));
  await waitFor('both running', () => supervisor.list().every((s) => s.status === 'running'), 60_000);
}, 90_000);

afterAll(async () => {
  await supervisor.shutdown();
  tmp.cleanup();
});

const get = async () => (await (await fetch(`http://127.0.0.1:${port}/count`)).json()) as { hits: number; greeting: string | null };
const call = async (method: string, args: unknown = {}) => JSON.parse((await supervisor.invoke('state', method, JSON.stringify(args)))!) as unknown;

describe('a Spin/wasmCloud-style http component (wasi:keyvalue, wasi:config, wasi:logging)', () => {
  it('answers a wasi:keyvalue counter that survives a restart, with its greeting read through wasi:config', async () => {
    expect(await get()).toEqual({ hits: 1, greeting: 'hello from wasi:config' });
    expect(await get()).toEqual({ hits: 2, greeting: 'hello from wasi:config' });
    await supervisor.restart('web');
    await waitFor('web running again', () => supervisor.list().find((s) => s.name === 'web')?.status === 'running');
    const after = await waitFor('web answering', () => get().catch(() => undefined), 20_000);
    expect(after.hits).toBe(3);
  }, 60_000);

  it('its wasi:logging lines are in the workload log with level and context', async () => {
    await get();
    const lines = supervisor.logs('web').filter((r) => r.text.includes('portable-http: GET /count'));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toMatchObject({ level: 'info' });
    expect(lines.at(-1)!.text).toMatch(/^portable-http: GET \/count: request \d+$/);
  });
});

describe('a handler keeping state with wasi:keyvalue in place of edge:host/kv', () => {
  it('sets through wasi:keyvalue and reads the same value through edge:host/kv', async () => {
    await call('set', { key: 'mode', value: 'auto' });
    expect(await call('get', { key: 'mode' })).toEqual({ value: 'auto', exists: true });
    expect(await call('edge-get', { key: 'mode' })).toEqual({ value: 'auto' });
    expect(await call('get', { key: 'missing' })).toEqual({ value: null, exists: false });
  });

  it('increments atomically, as a decimal value edge:host/kv reads; refuses to increment what is not a number', async () => {
    expect(await call('incr', { key: 'n', by: 5 })).toEqual({ value: 5 });
    expect(await call('incr', { key: 'n', by: 2 })).toEqual({ value: 7 });
    expect(await call('edge-get', { key: 'n' })).toEqual({ value: '7' });
    await expect(supervisor.invoke('state', 'incr', JSON.stringify({ key: 'mode' }))).rejects.toThrow(/not a decimal number/);
  });

  it('batch get-many and delete-many, list-keys pages, and no store but "default"', async () => {
    expect(await call('many', { keys: ['mode', 'missing', 'n'] })).toEqual([['mode', 'auto'], null, ['n', '7']]);
    expect(await call('page', {})).toEqual({ keys: ['mode', 'n'], cursor: null });
    await call('remove', { keys: ['mode'] });
    expect(await call('edge-get', { key: 'mode' })).toEqual({ value: null });
    expect(await call('bad-store')).toEqual({ error: { tag: 'no-such-store' } });
  });

  it('the same quotas hold: a value over the kv limit is an error for the guest', async () => {
    await expect(supervisor.invoke('state', 'set', JSON.stringify({ key: 'big', value: 'x'.repeat(70_000) }))).rejects.toThrow(/limit/);
    expect(supervisor.list().find((s) => s.name === 'state')?.status).toBe('running');
  });
});

describe('wasmhost inspect', () => {
  it('lists the standard interfaces a component uses', () => {
    const r = spawnSync(process.execPath, [CLI, 'inspect', guestPath('portable-http')], { env: { PATH: process.env.PATH, WASMHOST_DATA_DIR: tmp.path }, encoding: 'utf8' });
    expect(r.stdout).toContain('standard interfaces: wasi:config/store, wasi:keyvalue/atomics, wasi:keyvalue/store, wasi:logging/logging\n');
  });
});
