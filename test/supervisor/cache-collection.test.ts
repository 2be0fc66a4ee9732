// The caches do not grow over months (issue: runs for months): every blob and compiled output no
// workload needs leaves once unused for an hour; what a running graph is made of stays, however old.
import { readdirSync, readFileSync, utimesSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validateDesired } from '../../dist/spec/index.js';
import { TOOLCHAIN } from '../../dist/runtime/compiler.js';
import { guestBytes, guestPath, ROOT, tempDir, waitFor } from '../helpers.js';
import { testSupervisor } from '../supervisor-harness.js';

const tmp = tempDir();
const supervisor = testSupervisor(tmp.path);
/** Serves the built guests by name over HTTP (pulled sources are what the blob cache holds); `changing.wasm` is whichever guest `changing` names. */
let changing = 'echo';
let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => res.end(readFileSync(guestPath(req.url === '/changing.wasm' ? changing : req.url!.slice(1, -'.wasm'.length)))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await supervisor.shutdown();
  await new Promise((r) => server.close(r));
  tmp.cleanup();
});

const compiledDir = join(tmp.path, 'compiled');
const entry = (digest: string) => `${digest}-${TOOLCHAIN}`;
const entries = () => readdirSync(compiledDir).sort();
const blobs = () => readdirSync(join(tmp.path, 'blobs', 'sha256')).sort();
const running = (name: string, digest?: string) => supervisor.list().some((s) => s.name === name && s.status === 'running' && (!digest || s.digest === `sha256:${digest}`));
const apply = (workloads: Record<string, unknown>) => supervisor.apply(validateDesired({ schemaVersion: '1.0', workloads }, { allowUnpinned: true }));

/** Every entry last used two hours ago: only what is needed may stay. */
function ageEntries(): void {
  const then = new Date(Date.now() - 2 * 3_600_000);
  for (const name of entries()) utimesSync(join(compiledDir, name, 'meta.json'), then, then);
}

const echo = guestBytes('echo');
const counter = guestBytes('counter');
const temperature = guestBytes('graph-temperature');
const route = {
  subscribe: ['route/#'],
  output: 'routed',
  graph: { ...(parseYaml(readFileSync(join(ROOT, 'test-support', 'graphs', 'branch-route.yaml'), 'utf8')) as object), modules: [{ module: 'temperature:1.0.0', source: 'file://graph-temperature.wasm', sha256: temperature.digest }] },
};

it('a removed workload takes its blob and compiled output along; a running graph keeps its modules', async () => {
  await apply({ echo: { source: `${base}/echo.wasm`, timerMs: 1000 }, route });
  await waitFor('both running', () => running('echo') && running('route'), 60_000);
  expect(entries()).toEqual([entry(echo.digest), entry(temperature.digest)].sort());
  expect(blobs()).toEqual([echo.digest]); // file sources are read in place, not cached
  ageEntries();

  await apply({ route });
  expect(entries()).toEqual([entry(temperature.digest)]);
  expect(blobs()).toEqual([]);
  expect(running('route')).toBe(true);
}, 90_000);

it('an unpinned source that changed leaves the old version behind at the restart that runs the new one', async () => {
  await apply({ route, changing: { source: `${base}/changing.wasm`, timerMs: 1000 } });
  await waitFor('changing running echo', () => running('changing', echo.digest), 60_000);
  ageEntries();

  changing = 'counter';
  await supervisor.restart('changing');
  await waitFor('changing running counter', () => running('changing', counter.digest), 60_000);
  // Collected means removed, not only renamed aside (`<entry>.trash-*` until its rm finishes).
  await waitFor('the old version collected', () => !entries().some((name) => name.startsWith(entry(echo.digest))) && !blobs().includes(echo.digest));
  expect(entries()).toEqual([entry(counter.digest), entry(temperature.digest)].sort());
  expect(blobs()).toEqual([counter.digest]);
}, 90_000);
