// Pulling wasm: a real OCI registry (Debian's docker-registry) and real HTTP servers on loopback.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Fetcher, type FetchSettings } from '../../dist/fetch/index.js';
import { startRegistry } from '../../test-support/registry.mjs';
import { CLI, guestBytes, guestPath, tempDir } from '../helpers.js';

const run = promisify(execFile);
const echo = guestBytes('echo');
const tmp = tempDir();
let n = 0;
const settings = (over: Partial<FetchSettings> = {}): FetchSettings => ({
  dataDir: join(tmp.path, `data-${n++}`), fileBase: tmp.path, fileRoots: [tmp.path], maxBytes: 64 * 1024 * 1024, allowHttp: false,
  retry: { attempts: 3, baseMs: 50 }, timeoutMs: 5000, ...over,
});
const cachedBlobs = (s: FetchSettings) => {
  try {
    return readdirSync(join(s.dataDir, 'blobs', 'sha256'));
  } catch {
    return [];
  }
};
afterAll(() => tmp.cleanup());

/** An HTTP server on loopback with a request handler; stopped by the returned function. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    handler!(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits, close: () => new Promise((r) => server.close(() => r())) };
}

async function push(registry: { host: string; authFile: string }, repo: string) {
  const { stdout } = await run(process.execPath, [CLI, 'push', guestPath('echo'), `oci://${registry.host}/${repo}`], { env: { PATH: process.env.PATH, WASMHOST_REGISTRY_AUTH_FILE: registry.authFile } });
  return stdout;
}

describe.each(['none', 'basic', 'token'] as const)('OCI registry, auth %s', (auth) => {
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  beforeAll(async () => {
    registry = await startRegistry({ auth });
  });
  afterAll(() => registry.stop());

  it('wasmhost push publishes a wasm artifact and prints its sha256; pull by tag and by digest gets the same bytes', async () => {
    const out = await push(registry, 'wasm/echo:1.0');
    expect(out).toContain(`sha256: ${echo.digest}\n`);
    const manifest = /manifest: (sha256:[0-9a-f]{64})/.exec(out)![1];
    const s = settings({ registryAuthFile: registry.authFile });
    const byTag = await new Fetcher(s).fetch(`oci://${registry.host}/wasm/echo:1.0`, echo.digest);
    expect(byTag.digest).toBe(echo.digest);
    expect(Buffer.from(byTag.bytes).equals(Buffer.from(echo.bytes))).toBe(true);
    const byDigest = await new Fetcher(settings({ registryAuthFile: registry.authFile })).fetch(`oci://${registry.host}/wasm/echo@${manifest}`, undefined);
    expect(byDigest.digest).toBe(echo.digest);
    expect(cachedBlobs(s)).toEqual([echo.digest]);
  });

  if (auth !== 'none') {
    it('without credentials the pull fails clearly, and nothing is cached', async () => {
      const s = settings();
      await expect(new Fetcher(s).fetch(`oci://${registry.host}/wasm/echo:1.0`, echo.digest)).rejects.toThrow(/requires credentials|refused|HTTP 401/);
      expect(cachedBlobs(s)).toEqual([]);
    });
  }
  if (auth === 'token') {
    it('asked the token server for a pull scope with the credentials', () => {
      expect(registry.tokenRequests).toContainEqual({ scope: 'repository:wasm/echo:pull', authorized: true });
    });
    it('pulls with an ACR-style identitytoken: a refresh token traded for an access token (POST grant_type=refresh_token)', async () => {
      const s = settings({ registryAuthFile: registry.identityTokenAuthFile });
      expect((await new Fetcher(s).fetch(`oci://${registry.host}/wasm/echo:1.0`, echo.digest)).digest).toBe(echo.digest);
      expect(registry.tokenRequests).toContainEqual({ scope: 'repository:wasm/echo:pull', authorized: true, grant: 'refresh_token' });
    });
  }
});

describe('verification', () => {
  it('refuses a pinned digest the registry does not have, before downloading', async () => {
    const registry = await startRegistry();
    try {
      await push(registry, 'wasm/echo:1.0');
      const s = settings();
      await expect(new Fetcher(s).fetch(`oci://${registry.host}/wasm/echo:1.0`, 'f'.repeat(64))).rejects.toMatchObject({ code: 'WH_ERR_DIGEST_MISMATCH' });
      expect(cachedBlobs(s)).toEqual([]);
    } finally {
      await registry.stop();
    }
  });

  it('a registry that lies (blob bytes do not match the digest) is refused and nothing is cached', async () => {
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.wasm.config.v0+json', digest: `sha256:${'0'.repeat(64)}`, size: 2 }, layers: [{ mediaType: 'application/wasm', digest: `sha256:${echo.digest}`, size: echo.bytes.byteLength }] });
    const liar = await serve((req, res) => {
      if (req.url?.includes('/manifests/')) return res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
      res.writeHead(200).end(Buffer.from(guestBytes('trap').bytes)); // other bytes than the digest says
    });
    const s = settings();
    await expect(new Fetcher(s).fetch(`oci://${liar.url.slice(7)}/wasm/echo:1.0`, echo.digest)).rejects.toMatchObject({ code: 'WH_ERR_DIGEST_MISMATCH', message: expect.stringContaining('sent bytes with sha256') });
    expect(cachedBlobs(s)).toEqual([]);
    await liar.close();
  });

  it('an https/http source with wrong bytes is refused; plain http needs WASMHOST_ALLOW_HTTP', async () => {
    const server = await serve((_req, res) => res.end(Buffer.from(echo.bytes)));
    await expect(new Fetcher(settings()).fetch(`${server.url}/echo.wasm`, echo.digest)).rejects.toMatchObject({ code: 'WH_ERR_SOURCE_NOT_ALLOWED' });
    const s = settings({ allowHttp: true });
    await expect(new Fetcher(s).fetch(`${server.url}/echo.wasm?sig=SECRET`, 'e'.repeat(64))).rejects.toMatchObject({
      code: 'WH_ERR_DIGEST_MISMATCH',
      message: expect.not.stringContaining('SECRET'),
    });
    expect(cachedBlobs(s)).toEqual([]);
    expect((await new Fetcher(s).fetch(`${server.url}/echo.wasm?sig=SECRET`, echo.digest)).digest).toBe(echo.digest);
    await server.close();
  });

  it('an oversize blob is refused while streaming, with or without a content-length', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 1);
    const server = await serve((req, res) => {
      if (req.url === '/declared') return res.writeHead(200, { 'content-length': String(big.length) }).end(big);
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      let sent = 0;
      const pump = () => {
        while (sent < big.length) {
          sent += 65536;
          if (!res.write(big.subarray(0, 65536))) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    for (const path of ['/declared', '/chunked']) {
      const s = settings({ allowHttp: true, maxBytes: 1024 * 1024 });
      await expect(new Fetcher(s).fetch(`${server.url}${path}`, undefined)).rejects.toMatchObject({ code: 'WH_ERR_BLOB_TOO_LARGE' });
      expect(cachedBlobs(s)).toEqual([]);
    }
    await server.close();
  });
});

describe('availability', () => {
  it('retries a server that is down with growing, jittered delays, then fails with a clear error', async () => {
    const server = await serve((_req, res) => res.writeHead(503).end());
    const delays: number[] = [];
    await expect(new Fetcher(settings({ allowHttp: true, retry: { attempts: 4, baseMs: 40 } })).fetch(`${server.url}/x.wasm`, undefined, (_n, _e, ms) => delays.push(ms))).rejects.toMatchObject({ code: 'WH_ERR_FETCH_FAILED', message: expect.stringContaining('HTTP 503') });
    expect(server.hits()).toBe(4);
    expect(delays).toHaveLength(3);
    expect(delays[0]).toBeGreaterThanOrEqual(32);
    expect(delays[2]).toBeGreaterThan(delays[0]! * 2);
    await server.close();
  });

  it('does not retry what retrying cannot fix (404)', async () => {
    const server = await serve((_req, res) => res.writeHead(404).end());
    await expect(new Fetcher(settings({ allowHttp: true })).fetch(`${server.url}/x.wasm`, undefined)).rejects.toThrow('HTTP 404');
    expect(server.hits()).toBe(1);
    await server.close();
  });

  it('pulls one digest once when asked concurrently', async () => {
    const server = await serve((_req, res) => setTimeout(() => res.end(Buffer.from(echo.bytes)), 100));
    const fetcher = new Fetcher(settings({ allowHttp: true }));
    const all = await Promise.all(Array.from({ length: 5 }, () => fetcher.fetch(`${server.url}/echo.wasm`, echo.digest)));
    expect(all.every((b) => b.digest === echo.digest)).toBe(true);
    expect(server.hits()).toBe(1);
    await server.close();
  });

  it('with the network gone, a pinned cached blob (and the last version of an unpinned source) still loads', async () => {
    const registry = await startRegistry();
    const s = settings();
    await push(registry, 'wasm/echo:1.0');
    await new Fetcher(s).fetch(`oci://${registry.host}/wasm/echo:1.0`, echo.digest);
    await new Fetcher(s).fetch(`oci://${registry.host}/wasm/echo:latest-unpinned`, undefined).catch(() => undefined);
    await new Fetcher(s).fetch(`oci://${registry.host}/wasm/echo:1.0`, undefined);
    await registry.stop(); // the network is gone
    const offline = new Fetcher({ ...s, retry: { attempts: 2, baseMs: 10 } });
    expect((await offline.fetch(`oci://${registry.host}/wasm/echo:1.0`, echo.digest)).digest).toBe(echo.digest);
    expect((await offline.fetch(`oci://${registry.host}/wasm/echo:1.0`, undefined)).digest).toBe(echo.digest);
  });

  it('concurrent pulls each remember their source: with the server gone, every one falls back to its last version', async () => {
    const s = settings({ allowHttp: true, retry: { attempts: 1, baseMs: 10 } });
    const server = await serve((req, res) => res.end(Buffer.from(guestBytes(req.url!.split('?')[0]!.slice(1)).bytes)));
    const sources = Array.from({ length: 24 }, (_, i) => `${server.url}/${i % 2 ? 'echo' : 'trap'}?copy=${i}`);
    const fetcher = new Fetcher(s);
    const pulled = await Promise.all(sources.map((source) => fetcher.fetch(source, undefined)));
    await server.close(); // the network is gone
    const offline = new Fetcher(s);
    for (const [i, source] of sources.entries()) expect((await offline.fetch(source, undefined)).digest).toBe(pulled[i]!.digest);
  });

  it('garbage collection keeps what is referenced', async () => {
    const s = settings({ allowHttp: true });
    const server = await serve((req, res) => res.end(Buffer.from(guestBytes(req.url!.slice(1)).bytes)));
    const fetcher = new Fetcher(s);
    await fetcher.fetch(`${server.url}/echo`, undefined);
    const trap = await fetcher.fetch(`${server.url}/trap`, undefined);
    expect(cachedBlobs(s).sort()).toEqual([echo.digest, trap.digest].sort());
    expect(await fetcher.collectGarbage(new Set([echo.digest]))).toEqual([trap.digest]);
    expect(cachedBlobs(s)).toEqual([echo.digest]);
    expect(createHash('sha256').update(readFileSync(join(s.dataDir, 'blobs', 'sha256', echo.digest))).digest('hex')).toBe(echo.digest);
    await server.close();
  });
});
