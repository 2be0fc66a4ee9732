import { createServer } from 'node:net';

/** A port free right now on 127.0.0.1, for servers (and settings) that need a number up front. */
export async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}
