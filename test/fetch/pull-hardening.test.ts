// Pulls against servers that try to lead the host astray, all real servers on loopback: a redirect to
// plain http, a redirect to another origin with our credentials, a token realm elsewhere, a source
// carrying a secret.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Fetcher } from '../../dist/fetch/index.js';
import { request } from '../../dist/fetch/download.js';
import { makeCertificates } from '../../test-support/edgehub/certs.mjs';
import { CLI, guestBytes, tempDir } from '../helpers.js';

const tmp = tempDir();
const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  tmp.cleanup();
});

type Handler = (req: { url?: string; headers: IncomingHttpHeaders }, res: { writeHead(status: number, headers?: Record<string, string>): { end(body?: string | Uint8Array): void } }) => void;
interface Served { url: string; seen: Array<{ url: string; authorization: string | undefined }> }

async function listen(server: Server, scheme: 'http' | 'https', handler: Handler, seen: Served['seen']): Promise<Served> {
  server.on('request', (req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}
const serve = (handler: Handler) => listen(createServer(), 'http', handler, []);

it('a redirect from https to plain http is refused unless plain http is allowed; the http server is never asked', async () => {
  const certs = makeCertificates();
  const caFile = join(tmp.path, 'ca.pem');
  writeFileSync(caFile, certs.caPem);
  const plain = await serve((_req, res) => res.writeHead(200).end(guestBytes('echo').bytes));
  const secure = await listen(createTlsServer({ key: certs.keyPem, cert: certs.certPem }) as unknown as Server, 'https', (_req, res) => res.writeHead(302, { location: `${plain.url}/echo.wasm` }).end(), []);
  const pull = (allowHttp: boolean) =>
    new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, 'pull', `${secure.url}/echo.wasm`, '--sha256', guestBytes('echo').digest], { env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: caFile, WASMHOST_DATA_DIR: join(tmp.path, `data-${allowHttp}`), WASMHOST_ALLOW_HTTP: String(allowHttp) } }, (err, _stdout, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stderr }),
      );
    });
  const refused = await pull(false);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/redirect from https:\/\/127\.0\.0\.1:\d+\/echo\.wasm to plain http .* refused/);
  expect(plain.seen).toEqual([]);
  expect(secure.seen).toHaveLength(1); // refused for good: no retries
  expect((await pull(true)).code).toBe(0);
  expect(plain.seen).toHaveLength(1);
}, 30_000);

it('credentials go only to the origin they were given for, not to another port of the same host', async () => {
  const other = await serve((_req, res) => res.writeHead(200).end('ok'));
  const first = await serve((req, res) => {
    if (req.url === '/same') res.writeHead(302, { location: '/final' }).end();
    else if (req.url === '/elsewhere') res.writeHead(302, { location: `${other.url}/final` }).end();
    else res.writeHead(200).end('ok');
  });
  const seenFirst = (first as Served).seen;
  await (await request(`${first.url}/same`, { allowHttp: true, timeoutMs: 5000, headers: { authorization: 'Basic c2VjcmV0' } })).text();
  expect(seenFirst.map((s) => [s.url, s.authorization])).toEqual([['/same', 'Basic c2VjcmV0'], ['/final', 'Basic c2VjcmV0']]);
  await (await request(`${first.url}/elsewhere`, { allowHttp: true, timeoutMs: 5000, headers: { authorization: 'Basic c2VjcmV0' } })).text();
  expect(other.seen).toEqual([{ url: '/final', authorization: undefined }]);
});

it.each([
  ['plain http on another host', 'http://example.invalid/token'],
  ['https on another host', 'https://tokens.example.invalid/token'],
  ['not a URL', 'nonsense'],
])('a Bearer realm %s is refused before any request, credentials never sent', async (_name, realm) => {
  const registry = await serve((_req, res) => res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="reg"` }).end());
  const host = registry.url.replace('http://', '');
  const authFile = join(tmp.path, `auth-${registry.seen.length}-${Date.now()}.json`);
  writeFileSync(authFile, JSON.stringify({ auths: { [host]: { auth: Buffer.from('user:pass').toString('base64') } } }));
  const fetcher = new Fetcher({ dataDir: join(tmp.path, `realm-${Date.now()}`), fileBase: tmp.path, fileRoots: [tmp.path], maxBytes: 1 << 20, allowHttp: false, retry: { attempts: 2, baseMs: 10 }, timeoutMs: 3000, registryAuthFile: authFile });
  await expect(fetcher.fetch(`oci://${host}/wasm/echo:1.0`, guestBytes('echo').digest)).rejects.toThrow(/token realm .* refused|Bearer realm is not a URL/);
  expect(registry.seen.every((s) => s.authorization === undefined)).toBe(true);
});

it('a source with a secret in its query never shows it in an error', async () => {
  const fetcher = new Fetcher({ dataDir: join(tmp.path, 'redact'), fileBase: tmp.path, fileRoots: [tmp.path], maxBytes: 1 << 20, allowHttp: false, retry: { attempts: 1, baseMs: 10 }, timeoutMs: 3000 });
  for (const source of ['oci://reg.example/wasm/x?sig=SECRET', 'https://user:SECRET@127.0.0.1:1/x.wasm?sig=SECRET', 'file://x.wasm?sig=SECRET', 'ftp://host/x?sig=SECRET']) {
    const err = (await fetcher.fetch(source, guestBytes('echo').digest).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).not.toContain('SECRET');
  }
});
