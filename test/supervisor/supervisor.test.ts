import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createLogger } from '../../dist/ops/index.js';
import { validateDesired } from '../../dist/spec/index.js';
import type { OutboundMessage, WorkloadStatus } from '../../dist/base/index.js';
import { freePort, guestBytes, tempDir, waitFor } from '../helpers.js';
import { testSupervisor } from '../supervisor-harness.js';

const tmp = tempDir();
const logLines: string[] = [];
const sent: OutboundMessage[] = [];
const supervisor = testSupervisor(tmp.path, { fileRoots: [tmp.path], sink: { send: (m) => sent.push(m) }, log: createLogger('debug', (line) => logLines.push(line)) });
// A real HTTP server on loopback: the target of the outbound-HTTP guests.
const egressHits: string[] = [];
let egressServer: Server;
let egressTarget = '';
beforeAll(async () => {
  egressServer = createServer((req, res) => {
    egressHits.push(`${req.method} ${req.url}`);
    res.end('ok');
  });
  await new Promise<void>((r) => egressServer.listen(0, '127.0.0.1', r));
  egressTarget = `127.0.0.1:${(egressServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await supervisor.shutdown();
  await new Promise((r) => egressServer.close(r));
  tmp.cleanup();
});

const apply = (workloads: Record<string, unknown>) =>
  supervisor.apply(validateDesired({ schemaVersion: '1.0', workloads }, { allowUnpinned: true }));
const status = (name: string): WorkloadStatus | undefined => supervisor.list().find((s) => s.name === name);
const bodies = (workload: string, output?: string) =>
  sent.filter((m) => m.workload === workload && (!output || m.output === output)).map((m) => Buffer.from(m.msg.body).toString());

describe('supervisor with hostile guests beside a healthy one', () => {
  let hostileStart = 0;
  beforeAll(async () => {
    const outside = join(tmp.path, 'workloads', 'escape');
    mkdirSync(join(outside, 'data'), { recursive: true });
    writeFileSync(join(outside, 'outside.txt'), 'secret next to /data');
    symlinkSync('/etc', join(outside, 'data', 'link'));
    hostileStart = Date.now();
    await apply({
      healthy: { source: 'file://echo.wasm', timerMs: 50 },
      trap: { source: 'file://trap.wasm', timerMs: 50, restartPolicy: 'never' },
      loop: { source: 'file://loop.wasm', timerMs: 50, restartPolicy: 'never', limits: { callTimeoutMs: 200 } },
      grow: { source: 'file://grow.wasm', timerMs: 50, restartPolicy: 'never', limits: { memoryMb: 8 } },
      flood: { source: 'file://flood.wasm', timerMs: 1000, limits: { messagesPerSecond: 10, callTimeoutMs: 20_000 } },
      exit: { source: 'file://exit.wasm', timerMs: 50, restartPolicy: 'never' },
      passwd: { source: 'file://read-passwd.wasm', restartPolicy: 'never' },
      escape: { source: 'file://escape.wasm', restartPolicy: 'never', capabilities: { storage: {} } },
      env: { source: 'file://env.wasm', restartPolicy: 'never', env: { ONLY: 'this' } },
      fill: { source: 'file://fill.wasm', restartPolicy: 'never', capabilities: { storage: { quotaMb: 1 } } },
      egress: { source: 'file://http-egress.wasm', timerMs: 100, config: { target: egressTarget }, capabilities: { http: { allowedHosts: ['api.example.com:443'] } } },
    });
    await waitFor('every hostile guest to end', () =>
      ['trap', 'loop', 'grow', 'exit', 'passwd', 'escape'].every((n) => status(n)?.status === 'failed') &&
      status('env')?.status === 'stopped' && status('fill')?.status === 'stopped' && (status('flood')?.messagesRefused ?? 0) > 90_000, 30_000);
  }, 60_000);

  it.each([
    ['trap', 'trap', /unreachable/],
    ['loop', 'timeout', /callTimeoutMs \(200 ms\)/],
    ['grow', 'oom', /memory limit of 8 MB/],
    ['exit', 'exit', /exit\(1\)/],
  ])('%s ends only itself, with reason %s', (name, reason, error) => {
    expect(status(name)).toMatchObject({ status: 'failed', lastExitReason: reason, restarts: 0 });
    expect(status(name)?.lastError).toMatch(error);
  });

  it('the healthy workload kept running and sending', async () => {
    const before = bodies('healthy', 'ticks').length;
    await waitFor('more healthy ticks', () => bodies('healthy', 'ticks').length > before + 5);
    expect(status('healthy')).toMatchObject({ status: 'running', restarts: 0, lastError: null });
  });

  it('the flooding workload is held to its budget and told so in its status', () => {
    expect(status('flood')?.status).toBe('running');
    expect(status('flood')?.lastError).toMatch(/telemetry refused \(budget\)/);
    expect(status('flood')?.messagesRefused).toBeGreaterThan(90_000);
    const seconds = (Date.now() - hostileStart) / 1000;
    expect(bodies('flood').length).toBeLessThanOrEqual(10 + Math.ceil(10 * seconds) + 1); // burst + 10/s refill
  });

  it('cannot read host files: /etc/passwd is not there', () => {
    expect(status('passwd')).toMatchObject({ status: 'failed', lastExitReason: 'exit' });
    expect(supervisor.logs('passwd').map((r) => r.text)).toContain('open /etc/passwd refused: Capabilities insufficient');
    expect(bodies('passwd').join()).not.toMatch(/LEAKED|root:/);
  });

  it('cannot leave /data through .. or a symlink, but can use /data', () => {
    const lines = supervisor.logs('escape').map((r) => r.text);
    expect(lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/^open \/data\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd refused/),
      expect.stringMatching(/^open \/data\/link\/passwd refused/),
      expect.stringMatching(/^open \/data\/\.\.\/outside\.txt refused/),
    ]));
    expect(bodies('escape')).toEqual(['{"ownFile":"written"}']);
  });

  it('cannot write past its storage quota; space freed is usable again', () => {
    const [fill, after] = bodies('fill').map((b) => JSON.parse(b) as { written?: number; error?: string; afterDelete?: string });
    expect(fill!.error).toMatch(/quota/i);
    expect(fill!.written).toBeGreaterThanOrEqual(768 * 1024); // all but the last 256 KB chunk fitted
    expect(fill!.written).toBeLessThanOrEqual(1024 * 1024);
    expect(after).toEqual({ afterDelete: 'written' });
    expect(supervisor.logs('fill').map((r) => r.text)).toContainEqual(expect.stringMatching(/^storage refused \(quota\) x\d+: writing \d+ more bytes would pass capabilities\.storage\.quotaMb \(1 MB/));
    expect(readdirSync(join(tmp.path, 'workloads', 'fill', 'data'))).toEqual(['after.txt']);
  });

  it('cannot make outbound HTTP to a host not allowed: the guest gets err, the status says why', async () => {
    await waitFor('an egress refusal', () => status('egress')?.lastError);
    expect(status('egress')).toMatchObject({ status: 'running', lastError: 'on-timer returned err: outbound request refused' });
    expect(supervisor.logs('egress').map((r) => r.text)).toContain(`http refused (denied) x1: outbound HTTP to ${egressTarget} denied: not in capabilities.http.allowedHosts`);
    expect(egressHits).toEqual([]);
  });

  it('reaches a host that is allowed', async () => {
    await apply({ allowed: { source: 'file://http-egress.wasm', timerMs: 100, config: { target: egressTarget }, capabilities: { http: { allowedHosts: [egressTarget] } } } });
    await waitFor('requests at the allowed server', () => egressHits.length >= 2);
    expect(egressHits[0]).toBe('GET /egress');
    await apply({});
  });

  it('an allowed name that resolves to loopback reaches nothing (only the literal address would)', async () => {
    const hitsBefore = egressHits.length;
    const byName = egressTarget.replace('127.0.0.1', 'localhost');
    await apply({ rebound: { source: 'file://http-egress.wasm', timerMs: 100, config: { target: byName }, capabilities: { http: { allowedHosts: [byName] } } } });
    await waitFor('the refusal in the guest log', () => supervisor.logs('rebound').some((r) => /egress refused: localhost resolves to .*loopback or link-local/.test(r.text)));
    await new Promise((r) => setTimeout(r, 300));
    expect(egressHits.length).toBe(hitsBefore);
    await apply({});
  });

  it('sees only the environment its spec sets', () => {
    expect(bodies('env')).toEqual(['{"env":"ONLY=this"}', '{"count":1}']);
  });

  it('every host log line about a workload names it', () => {
    // Lines about a workload's life: it runs, it trapped, it restarts. Each must name its workload.
    const about = logLines.filter((l) => /running [0-9a-f]{12}|trap: |restart/.test(l));
    expect(about.filter((l) => /trap: /.test(l)).length).toBeGreaterThan(0);
    expect(about.filter((l) => !/\[workload=[\w-]+\] /.test(l))).toEqual([]);
  });
});

describe('supervisor lifecycle', () => {
  it('reports what each workload uses, as edgeAgent names it: a busy one uses CPU, an idle one next to none', async () => {
    await apply({ busy: { source: 'file://burst.wasm', timerMs: 20, limits: { messagesPerSecond: 100_000 } }, still: { source: 'file://echo.wasm' } });
    const usage = (name: string) => supervisor.listWithUsage().find((w) => w.name === name);
    const busy = await waitFor('busy using CPU', () => ((usage('busy')?.usedCpuPercent ?? 0) > 1 ? usage('busy') : undefined), 15_000);
    expect(busy.usedMemoryBytes).toBeGreaterThanOrEqual(65536); // its linear memory at least
    expect(usage('still')).toMatchObject({ status: 'running' });
    expect(usage('still')!.usedCpuPercent).toBeLessThan(1); // its init only
    expect(usage('still')!.usedMemoryBytes).toBeGreaterThan(0);
    await apply({});
  });

  it('runs a preview1 C command: each stdout line is telemetry on output <name>, stderr is its log', async () => {
    await apply({ hello: { source: 'file://hello.wasm', restartPolicy: 'never', args: ['x'] } });
    await waitFor('hello to finish', () => status('hello')?.status === 'stopped');
    expect(sent.filter((m) => m.workload === 'hello').map((m) => [m.output, m.msg.contentType, Buffer.from(m.msg.body).toString()])).toEqual([
      ['hello', 'application/json', '{"line":1,"args":2}'],
      ['hello', 'application/json', '{"line":2,"args":2}'],
      ['hello', 'application/json', '{"line":3,"args":2}'],
    ]);
    expect(supervisor.logs('hello').map((r) => r.text)).toContain('hello: sent 3 lines');
    expect(status('hello')).toMatchObject({ kind: 'command', lastExitCode: 0 });
  });

  it('restarts a trapping workload with growing backoff under policy always', async () => {
    await apply({ crashy: { source: 'file://trap.wasm', timerMs: 20 } });
    await waitFor('three restarts', () => (status('crashy')?.restarts ?? 0) >= 3, 20_000);
    const s = status('crashy')!;
    expect(['backoff', 'pulling', 'starting', 'running']).toContain(s.status);
    expect(s.lastExitReason).toBe('trap');
  });

  it('backs off 100 ms doubling to the 400 ms cap (suite settings), restart after restart', async () => {
    await apply({ looping: { source: 'file://trap.wasm', timerMs: 10 } });
    const delays = new Map<number, number>();
    await waitFor('four backoffs', () => {
      const s = status('looping');
      if (s?.status === 'backoff' && s.nextRestartAt) delays.set(s.restarts, Date.parse(s.nextRestartAt) - Date.parse(s.since));
      return delays.size >= 4 && [1, 2, 3, 4].every((n) => delays.has(n));
    }, 20_000);
    expect([1, 2, 3, 4].map((n) => delays.get(n))).toEqual([100, 200, 400, 400]);
    await apply({});
  });

  it('on-failure does not restart a command that exits 0 but does restart one that fails', async () => {
    await apply({ ok: { source: 'file://hello.wasm', restartPolicy: 'on-failure' }, bad: { source: 'file://exit-code.wasm', restartPolicy: 'on-failure' } });
    await waitFor('ok stopped and bad restarted', () => status('ok')?.status === 'stopped' && (status('bad')?.restarts ?? 0) >= 1, 20_000);
    expect(status('ok')?.restarts).toBe(0);
    expect(status('bad')?.lastExitReason).toBe('exit');
  });

  it('a workload whose init returns err fails with init-failed', async () => {
    await apply({ nope: { source: 'file://init-fails.wasm', restartPolicy: 'never' } });
    await waitFor('init failure', () => status('nope')?.status === 'failed');
    expect(status('nope')).toMatchObject({ lastExitReason: 'init-failed', lastError: expect.stringContaining('not configured') });
  });

  it('a wrong sha256 is a hard failure: no retry, clear error', async () => {
    await apply({ pinned: { source: 'file://echo.wasm', sha256: 'b'.repeat(64) } });
    await waitFor('digest failure', () => status('pinned')?.status === 'failed');
    expect(status('pinned')?.lastError).toMatch(/WH_ERR_DIGEST_MISMATCH: sha256 of file:\/\/echo.wasm is [0-9a-f]{64}, expected b{64}/);
    expect(status('pinned')?.restarts).toBe(0);
  });

  it('an update whose server sends wrong bytes is refused: the running version keeps running', async () => {
    const liar = createServer((_req, res) => res.end('not the bytes you pinned'));
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    await apply({ stable: { source: 'file://echo.wasm', timerMs: 50 } });
    await waitFor('stable running', () => status('stable')?.status === 'running');
    const running = status('stable')!;
    const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}/echo.wasm`;
    await apply({ stable: { source: url, sha256: 'c'.repeat(64), timerMs: 50 } });
    expect(status('stable')).toMatchObject({ status: 'running', digest: running.digest, since: running.since });
    expect(status('stable')?.lastError).toMatch(/^update refused, still running the previous version: WH_ERR_DIGEST_MISMATCH/);
    expect(status('stable')?.rolledBackFrom).toMatchObject({ digest: `sha256:${'c'.repeat(64)}`, reason: expect.stringContaining('WH_ERR_DIGEST_MISMATCH') });
    const ticks = bodies('stable', 'ticks').length;
    await waitFor('still ticking', () => bodies('stable', 'ticks').length > ticks);
    await new Promise((r) => liar.close(r));
  });

  it('rolls back by itself: v2 failing init never stops v1; v2\' crashing after the switch goes back to v1', async () => {
    const v1 = { source: 'file://echo.wasm', timerMs: 50, config: { v: '1' } };
    await apply({ app: v1 });
    await waitFor('v1 running', () => status('app')?.status === 'running');
    const v1Status = status('app')!;

    await apply({ app: { source: 'file://init-fails.wasm', timerMs: 50 } }); // v2: init returns err
    expect(status('app')).toMatchObject({ status: 'running', digest: v1Status.digest, since: v1Status.since });
    expect(status('app')?.rolledBackFrom).toMatchObject({ digest: expect.stringMatching(/^sha256:/), reason: expect.stringContaining('not configured') });

    const v2b = { source: 'file://trap.wasm', timerMs: 50 }; // v2': init passes, first tick traps
    await apply({ app: v2b });
    await waitFor('rolled back to v1', () => status('app')?.status === 'running' && status('app')?.digest === v1Status.digest && status('app')?.rolledBackFrom?.reason.startsWith('trap'));
    const trapDigest = status('app')!.rolledBackFrom!.digest;
    expect(trapDigest).not.toBe(v1Status.digest);
    const ticks = bodies('app', 'ticks').length;
    await waitFor('v1 ticking again', () => bodies('app', 'ticks').length > ticks + 2);

    await apply({ app: v2b }); // the same failed update is not tried again
    expect(status('app')).toMatchObject({ status: 'running', digest: v1Status.digest });
    await apply({ app: { ...v1, config: { v: '3' } } }); // a new desired version is
    await waitFor('v3 running', () => status('app')?.status === 'running' && status('app')?.rolledBackFrom === null);
    await apply({});
  });

  it('an update that arrives while the operator restarts the running version is still an update: one failing init is refused, the previous one runs on; stopped meanwhile, it stays stopped', async () => {
    await apply({ app: { source: 'file://echo.wasm', timerMs: 50 } });
    await waitFor('v1 running', () => status('app')?.status === 'running');
    const v1 = status('app')!;
    await supervisor.restart('app');
    expect(status('app')?.status).toBe('pulling'); // until the fix, this made the update a plain replace
    await apply({ app: { source: 'file://init-fails.wasm', timerMs: 50 } });
    await waitFor('v1 running again', () => status('app')?.status === 'running');
    expect(status('app')).toMatchObject({ digest: v1.digest, restarts: 0, rolledBackFrom: { reason: expect.stringContaining('not configured') } });
    const ticks = bodies('app', 'ticks').length;
    await waitFor('v1 ticking', () => bodies('app', 'ticks').length > ticks + 2);

    // Stopped by the operator while an update pulls: the update, refused, does not start it again.
    const refused = apply({ app: { source: 'file://init-fails.wasm', timerMs: 50, config: { v: '1' } } });
    await supervisor.stop('app');
    await refused;
    expect(status('app')).toMatchObject({ status: 'stopped', digest: v1.digest });
    await new Promise((r) => setTimeout(r, 200));
    expect(status('app')?.status).toBe('stopped');

    // Stopped: not in service, so a new spec replaces it outright.
    await apply({ app: { source: 'file://init-fails.wasm', timerMs: 50, config: { v: '2' } } });
    await waitFor('the new version failing in its place', () => status('app')?.lastExitReason === 'init-failed');
    expect(status('app')?.digest).not.toBe(v1.digest);
    await apply({});
  });

  it('updates a stateful workload under load without losing a kv write: the old version holds while the new one starts', async () => {
    const filter = (threshold: string) => ({ source: 'file://threshold-filter.wasm', subscribe: ['line/+/temperature'], config: { threshold }, limits: { memoryMb: 128, messagesPerSecond: 10_000 } });
    await apply({ kvf: filter('0') });
    await waitFor('filter running', () => status('kvf')?.status === 'running', 30_000);
    const v1Digest = status('kvf')!.since;
    const reading = { body: Buffer.from(JSON.stringify({ machine: { name: 'm', temperature: 50 } })), contentType: 'application/json', properties: [] };
    const pump = setInterval(() => supervisor.publish('line/m/temperature', reading), 2);
    try {
      await new Promise((r) => setTimeout(r, 300));
      await apply({ kvf: filter('1') }); // a replace: v2 starts while v1 runs, and takes over
      expect(status('kvf')).toMatchObject({ status: 'running', rolledBackFrom: null });
      expect(status('kvf')!.since).not.toBe(v1Digest);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      clearInterval(pump);
    }
    let last = -1;
    await waitFor('alerts to settle', async () => {
      const now = bodies('kvf', 'alerts').length;
      const settled = now === last;
      last = now;
      await new Promise((r) => setTimeout(r, 100));
      return settled;
    });
    // v1 and v2 forwarded every alert between them; v2's count in kv includes every one v1 stored.
    const { forwarded } = JSON.parse((await supervisor.invoke('kvf', 'stats', ''))!) as { forwarded: number };
    expect(forwarded).toBe(bodies('kvf', 'alerts').length);
    expect(status('kvf')!.messagesDropped).toBe(0);
    expect(supervisor.logs('kvf').map((r) => r.text)).toContainEqual(expect.stringMatching(/^update: the previous version held its calls for \d+ ms while this one started$/));
    await apply({});
  }, 60_000);

  it('serves an http workload on its declared port, a fresh instance per request: a request that fails is answered 500 alone, one past callTimeoutMs ends the worker', async () => {
    const port = await freePort();
    await apply({ web: { source: 'file://http-echo.wasm', capabilities: { listen: { port } }, limits: { memoryMb: 64, callTimeoutMs: 6000 } } });
    await waitFor('web running', () => status('web')?.status === 'running', 60_000); // a cold compile of StarlingMonkey
    expect(status('web')?.kind).toBe('http');
    const url = `http://127.0.0.1:${port}`;
    expect(await (await fetch(`${url}/hello`)).json()).toEqual({ method: 'GET', path: '/hello', bytes: 0, body: '' });
    for (let i = 0; i < 3; i++) expect(await (await fetch(`${url}/post`, { method: 'POST', body: `body ${i}` })).json()).toMatchObject({ method: 'POST', body: `body ${i}` });
    await waitFor('one telemetry message per request', () => bodies('web', 'requests').length === 4);
    expect(JSON.parse(bodies('web', 'requests')[0]!)).toEqual({ method: 'GET', path: '/hello', bytes: 0 });
    await expect(supervisor.invoke('web', 'stats', '')).rejects.toMatchObject({ code: 'WH_ERR_NOT_RUNNING', message: expect.stringContaining('http workload: no handler') });

    // A request that runs out of memory fails alone: answered 500, the next request gets a fresh instance.
    // (64 MB fill in ~0.3 s on a quiet machine; the 6 s call deadline leaves room for a loaded one.)
    const grown = await fetch(`${url}/grow`);
    expect([grown.status, await grown.text()]).toEqual([500, '500: the workload failed on this request\n']);
    await waitFor('the failure in the status', () => status('web')?.lastError); // the reply goes out before the report
    expect(status('web')).toMatchObject({ status: 'running', restarts: 0, lastError: expect.stringMatching(/^an http request failed, answered 500: (oom|trap): /) });
    expect((await fetch(`${url}/after-grow`)).status).toBe(200);

    await expect(fetch(`${url}/spin`)).rejects.toThrow(); // the instance is ended under it: the connection drops
    await waitFor('timeout reported', () => status('web')?.lastExitReason === 'timeout');
    expect(status('web')?.lastError).toMatch(/handle did not return within limits\.callTimeoutMs \(6000 ms\)/);
    await waitFor('serving again', () => status('web')?.status === 'running' && status('web')!.restarts >= 1, 10_000);
    expect((await fetch(`${url}/back`)).status).toBe(200);

    // An update takes the port over: the old version lets go of it before the new one listens.
    const before = status('web')!.since;
    await apply({ web: { source: 'file://http-echo.wasm', config: { v: '2' }, capabilities: { listen: { port } }, limits: { memoryMb: 64, callTimeoutMs: 6000 } } });
    expect(status('web')).toMatchObject({ status: 'running', rolledBackFrom: null });
    expect(status('web')!.since).not.toBe(before);
    expect((await fetch(`${url}/updated`)).status).toBe(200);
    await apply({});
  }, 120_000);

  it('an http workload without capabilities.listen fails with a clear error', async () => {
    await apply({ deaf: { source: 'file://http-echo.wasm', limits: { memoryMb: 128 } } });
    await waitFor('deaf failed', () => status('deaf')?.status === 'failed', 30_000);
    expect(status('deaf')?.lastError).toMatch(/WH_ERR_LISTEN_REQUIRED.*capabilities\.listen\.port/);
    await apply({});
  }, 40_000);

  it('an update whose source is down keeps the running version and is pulled again, with backoff, until the source is back', async () => {
    let up = false;
    let asked = 0;
    const flaky = createServer((_req, res) => {
      asked++;
      if (up) res.end(guestBytes('echo').bytes);
      else res.writeHead(503).end();
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    try {
      await apply({ app: { source: 'file://echo.wasm', timerMs: 50 } });
      await waitFor('v1 running', () => status('app')?.status === 'running');
      const v1 = status('app')!;
      const v2 = { app: { source: `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/echo.wasm`, timerMs: 50 } };
      await supervisor.apply(validateDesired({ schemaVersion: '1.0', workloads: v2 }, { allowUnpinned: true }), 2);
      // Until the fix, this update was refused for good: the device stayed on v1 until the spec changed again.
      expect(status('app')).toMatchObject({ status: 'running', since: v1.since, lastError: expect.stringMatching(/^update not pulled yet, still running the previous version: .*HTTP 503.*; trying again in 100 ms$/) });
      await waitFor('tried again, with a longer wait', () => /trying again in 200 ms$/.test(status('app')?.lastError ?? ''));
      expect(asked).toBeGreaterThanOrEqual(6); // each try is the fetcher's own 3 attempts
      up = true;
      await waitFor('the update pulled and running', () => status('app')?.desiredVersion === 2 && status('app')?.status === 'running');
      expect(status('app')).toMatchObject({ rolledBackFrom: null, lastError: null });
    } finally {
      await apply({});
      flaky.closeAllConnections();
      await new Promise((r) => flaky.close(r));
    }
  });

  it('a pull from a server that is down shows its retries in the status', async () => {
    const down = createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    await apply({ unreachable: { source: `http://127.0.0.1:${(down.address() as AddressInfo).port}/x.wasm`, restartPolicy: 'never' } });
    await waitFor('a retry in the status', () => status('unreachable')?.lastError?.startsWith('pull attempt 1 failed'));
    expect(status('unreachable')?.status).toBe('pulling');
    await waitFor('failed after the retries', () => status('unreachable')?.status === 'failed');
    expect(status('unreachable')?.lastError).toMatch(/HTTP 503/);
    await new Promise((r) => down.close(r));
  });

  it('a source outside the allowed roots is refused', async () => {
    await apply({ sneaky: { source: 'file:///etc/passwd' } });
    await waitFor('refusal', () => status('sneaky')?.status === 'failed');
    expect(status('sneaky')?.lastError).toMatch(/WH_ERR_SOURCE_NOT_ALLOWED/);
  });

  it('applies changes: config change replaces only that workload; removal stops it; an invalid spec keeps the old one', async () => {
    await apply({ a: { source: 'file://echo.wasm', config: { v: '1' } }, b: { source: 'file://echo.wasm' } });
    await waitFor('a and b running', () => status('a')?.status === 'running' && status('b')?.status === 'running');
    const bSince = status('b')!.since;
    const result = await apply({ a: { source: 'file://echo.wasm', config: { v: '2' } }, b: { source: 'file://echo.wasm' } });
    expect(result.commands).toEqual(['replace a: its spec changed']);
    await waitFor('a running again', () => status('a')?.status === 'running');
    expect(status('b')!.since).toBe(bSince);

    await apply({ a: { source: 'file://echo.wasm', limits: { memoryMb: -1 } } });
    expect(status('a')).toMatchObject({ status: 'running', lastError: expect.stringContaining('invalid spec') });
    expect(status('b')).toBeUndefined();
  });

  it('delivers local topics to subscribers with MQTT wildcards', async () => {
    await apply({
      sub: { source: 'file://echo.wasm', subscribe: ['plant/+/temperature'] },
      other: { source: 'file://echo.wasm', subscribe: ['plant/line2/#'] },
    });
    await waitFor('subscribers running', () => status('sub')?.status === 'running' && status('other')?.status === 'running');
    supervisor.publish('plant/press-1/temperature', { body: Buffer.from('42'), contentType: 'text/plain', properties: [] });
    await waitFor('echo of the topic message', () => bodies('sub', 'echoed').length === 1);
    expect(bodies('other', 'echoed')).toEqual([]);
  });

  it('answers invokeWorkload through on-method and returns 404-coded errors for unknown names', async () => {
    await apply({ e: { source: 'file://echo.wasm' } });
    await waitFor('e running', () => status('e')?.status === 'running');
    expect(await supervisor.invoke('e', 'anything', '{"a":1}')).toBe('{"a":1}');
    await expect(supervisor.restart('nobody')).rejects.toMatchObject({ code: 'WH_ERR_WORKLOAD_UNKNOWN' });
  });
});
