// A real OCI registry on loopback for tests: Debian's docker-registry (CNCF distribution 2.8), with
// no auth, htpasswd Basic auth, or Bearer tokens from a small token server (the flow ACR uses).
import { execFileSync, spawn } from 'node:child_process';
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { freePort } from './free-port.mjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

export const USER = 'wasmhost';
export const PASSWORD = 'correct horse battery staple';
/** The refresh token the token server accepts (an ACR `identitytoken` stand-in). */
export const REFRESH_TOKEN = 'refresh-token-for-wasmhost-tests';

const b64url = (data) => Buffer.from(data).toString('base64url');

/** A token server: checks Basic credentials, grants what the scope asks, signs an RS256 JWT. */
async function startTokenServer(dir) {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: 'token-signer' }]);
  cert.setIssuer([{ name: 'commonName', value: 'token-signer' }]);
  cert.sign(forge.pki.privateKeyFromPem(keys.privateKey), forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const certDer = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  writeFileSync(join(dir, 'token.crt'), certPem);
  const requests = [];
  const grant = (req, res, scopes) => {
    const access = scopes.map((s) => {
      const [type, name, actions] = s.split(':');
      return { type, name, actions: actions.split(',') };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] }));
    const payload = b64url(JSON.stringify({ iss: 'wasmhost-test-issuer', sub: USER, aud: 'wasmhost-test-registry', exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access }));
    const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(keys.privateKey).toString('base64url');
    const token = `${header}.${payload}.${signature}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.method === 'POST' ? { access_token: token } : { token }));
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://token');
    if (req.method === 'POST') {
      // OAuth2 refresh token grant, as ACR's /oauth2/token takes an identitytoken.
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => {
        const form = new URLSearchParams(body);
        const authorized = form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === REFRESH_TOKEN;
        requests.push({ scope: form.get('scope'), authorized, grant: 'refresh_token' });
        if (!authorized) return res.writeHead(401).end();
        grant(req, res, form.getAll('scope'));
      });
      return;
    }
    const auth = req.headers.authorization ?? '';
    requests.push({ scope: url.searchParams.get('scope'), authorized: auth !== '' });
    if (auth !== `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`) return res.writeHead(401).end();
    grant(req, res, url.searchParams.getAll('scope'));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, requests, realm: `http://127.0.0.1:${server.address().port}/token` };
}

/**
 * @param {{ auth?: 'none' | 'basic' | 'token' }} [options]
 */
export async function startRegistry({ auth = 'none' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'registry-'));
  const port = await freePort();
  let authConfig = '';
  let token;
  if (auth === 'basic') {
    writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', USER, PASSWORD]));
    authConfig = `auth:\n  htpasswd:\n    realm: wasmhost-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth === 'token') {
    token = await startTokenServer(dir);
    authConfig = `auth:\n  token:\n    realm: ${token.realm}\n    service: wasmhost-test-registry\n    issuer: wasmhost-test-issuer\n    rootcertbundle: ${join(dir, 'token.crt')}\n`;
  }
  writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n${authConfig}`);
  const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (c) => (stderr += c));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.status === 200 || r.status === 401, () => false);
    if (ok) break;
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const authFile = join(dir, 'auth.json');
  writeFileSync(authFile, JSON.stringify({ auths: { [`127.0.0.1:${port}`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
  const identityTokenAuthFile = join(dir, 'auth-identitytoken.json');
  writeFileSync(identityTokenAuthFile, JSON.stringify({ auths: { [`127.0.0.1:${port}`]: { identitytoken: REFRESH_TOKEN } } }));
  return {
    host: `127.0.0.1:${port}`,
    /** A Docker-style config.json with this registry's credentials (for WASMHOST_REGISTRY_AUTH_FILE). */
    authFile,
    /** The same with an `identitytoken` (refresh token), as `az acr login` writes for an Entra identity. */
    identityTokenAuthFile,
    tokenRequests: token?.requests ?? [],
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      if (token) await new Promise((r) => token.server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
