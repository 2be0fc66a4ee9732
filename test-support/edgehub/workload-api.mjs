// A fake IoT Edge workload API (what aziot-edged serves to modules): the trust bundle and the HMAC
// `sign` call with which the SDK makes its SAS tokens. Listens on a unix socket, as on a device.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';

const API_VERSION = '2018-06-28';

/**
 * @param {{ socketPath: string, caPem: string, moduleId: string, generationId: string, moduleKey: Buffer }} options
 */
export async function startWorkloadApi({ socketPath, caPem, moduleId, generationId, moduleKey }) {
  const calls = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://workload');
    calls.push(`${req.method} ${url.pathname}`);
    const reply = (status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.searchParams.get('api-version') !== API_VERSION) return reply(400, { message: 'unsupported api-version' });
    if (req.method === 'GET' && url.pathname === '/trust-bundle') return reply(200, { certificate: caPem });
    const sign = /^\/modules\/([^/]+)\/genid\/([^/]+)\/sign$/.exec(url.pathname);
    if (req.method === 'POST' && sign) {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (decodeURIComponent(sign[1]) !== moduleId || decodeURIComponent(sign[2]) !== generationId) return reply(404, { message: 'unknown module or generation' });
        const request = JSON.parse(body);
        if (request.keyId !== 'primary' || request.algo !== 'HMACSHA256') return reply(400, { message: 'unsupported key or algorithm' });
        reply(200, { digest: createHmac('sha256', moduleKey).update(Buffer.from(request.data, 'base64')).digest('base64') });
      });
      return;
    }
    reply(404, { message: 'not found' });
  });
  rmSync(socketPath, { force: true });
  await new Promise((resolve) => server.listen(socketPath, resolve));
  return { calls, close: () => new Promise((r) => server.close(r)) };
}
