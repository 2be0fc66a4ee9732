// What a hostile or careless client sends the local-mode host: it answers with a coded refusal and
// stays up. The module runs as its own process; raw requests go over real sockets.
import { copyFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePort, guestPath, tempDir, waitFor } from '../helpers.js';
import { startModule, type ModuleProcess } from '../module-process.js';

const tmp = tempDir();
const desiredFile = join(tmp.path, 'workloads.local.json');
const echo = { source: 'file://echo.wasm', timerMs: 200 };
let host: ModuleProcess;
let adminPort = 0;
let metricsPort = 0;

/** A raw request: any path bytes, any headers (fetch would normalise both). */
function raw(path: string, headers: Record<string, string>, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: adminPort, method: 'POST', path, headers: { host: `127.0.0.1:${adminPort}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const json = { 'content-type': 'application/json' };
const alive = async () => (await raw('/methods/ping', json)).status === 200 && (await fetch(`http://127.0.0.1:${metricsPort}/health`)).status === 200;

beforeAll(async () => {
  copyFileSync(guestPath('echo'), join(tmp.path, 'echo.wasm'));
  writeFileSync(desiredFile, JSON.stringify({ schemaVersion: '1.0', workloads: { echo } }));
  metricsPort = await freePort();
  host = startModule({ WASMHOST_DATA_DIR: join(tmp.path, 'data'), WASMHOST_DESIRED_FILE: desiredFile, WASMHOST_ALLOW_UNPINNED: 'true', WASMHOST_ADMIN_PORT: '0', WASMHOST_METRICS_PORT: String(metricsPort) });
  adminPort = Number((await host.waitForLog(/http:\/\/127\.0\.0\.1:(\d+)\/methods/))[1]);
  await host.waitForLog(/\[workload=echo\] running/);
}, 60_000);

afterAll(async () => {
  expect(await host.stop()).toBe(0);
  tmp.cleanup();
});

describe('the admin endpoint refuses what is not a local program\'s method call', () => {
  it.each<[string, string, Record<string, string>, string, number]>([
    ['malformed percent-encoding', '/methods/%E0%A4%A', json, '', 400],
    ['an unknown path', '/nowhere', json, '', 400],
    ['a web page (Origin header)', '/methods/stopWorkload', { ...json, origin: 'http://evil.example' }, '{"name":"echo"}', 403],
    ['another Host (DNS rebinding)', '/methods/stopWorkload', { ...json, host: 'evil.example:9601' }, '{"name":"echo"}', 403],
    ['a form post (simple request)', '/methods/stopWorkload', { 'content-type': 'application/x-www-form-urlencoded' }, 'name=echo', 415],
    ['text/plain JSON (simple request)', '/methods/stopWorkload', { 'content-type': 'text/plain' }, '{"name":"echo"}', 415],
    ['a body that is not JSON', '/methods/stopWorkload', json, '{', 400],
    ['an oversize body', '/methods/ping', json, 'x'.repeat(200_000), 413],
  ])('%s', async (_name, path, headers, body, status) => {
    const res = await raw(path, headers, body);
    expect(res.status).toBe(status);
    expect(JSON.parse(res.body)).toMatchObject({ message: expect.any(String) });
    expect(await alive()).toBe(true);
  });

  it('the workload was never stopped by any of them', async () => {
    const list = JSON.parse((await raw('/methods/listWorkloads', json)).body) as Array<{ name: string; status: string }>;
    expect(list.find((w) => w.name === 'echo')?.status).toBe('running');
  });

  it('a getWorkloadLogs regex that backtracks forever answers at once; health keeps answering', async () => {
    const started = Date.now();
    const res = await raw('/methods/getWorkloadLogs', json, JSON.stringify({ schemaVersion: '1.0', items: [{ id: '.*', filter: { regex: '^(x+x+)+y$' } }] }));
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await alive()).toBe(true);
  });
});

describe('hostile desired documents', () => {
  it.each<[string, string, RegExp]>([
    ['60 KB of nested arrays', `{"schemaVersion":"1.0","workloads":${'['.repeat(30_000)}${']'.repeat(30_000)}}`, /nested more than 10 deep/],
    ['a __proto__ key in a workload', '{"schemaVersion":"1.0","workloads":{"echo":{"source":"file://echo.wasm","timerMs":200},"p":{"source":"file://echo.wasm","__proto__":{"timerMs":1}}}}', /workloads\.p\.__proto__: key "__proto__" is not allowed/],
    ['a workload named constructor', '{"schemaVersion":"1.0","workloads":{"constructor":{"source":"file://echo.wasm"}}}', /workloads\.constructor: key "constructor" is not allowed/],
  ])('%s: refused with a clear error, the host runs on', async (_name, text, error) => {
    const before = host.logs().length;
    writeFileSync(desiredFile, text);
    await waitFor('the refusal logged', () => error.test(host.logs().slice(before)), 15_000);
    expect(await alive()).toBe(true);
    expect(host.logs()).not.toMatch(/unhandled rejection|RangeError/);
  });

  it('a good document afterwards applies as usual', async () => {
    writeFileSync(desiredFile, JSON.stringify({ schemaVersion: '1.0', workloads: { echo, second: echo } }));
    await waitFor('second running', async () => (JSON.parse((await raw('/methods/listWorkloads', json)).body) as Array<{ name: string; status: string }>).some((w) => w.name === 'second' && w.status === 'running'), 15_000);
  });
});
