import { Engine, GuestFatalError, type Effect, type Fatal, type WorkloadInstance, type StartOptions } from '../../dist/runtime/index.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { JEMALLOC_CONF, JEMALLOC_PATHS, runnerAllocatorEnv } from '../../dist/runtime/runner/allocator.js';
import { guestBytes, mallocArenas, mapsJemalloc, tempDir, waitFor } from '../helpers.js';

const tmp = tempDir();
const engine = new Engine(`${tmp.path}/compiled`);
afterAll(async () => {
  await engine.close();
  tmp.cleanup();
});

interface Recorded {
  instance: WorkloadInstance;
  effects: Effect[];
  ended: Array<Fatal | undefined>;
}

const options = (over: Partial<StartOptions> = {}): StartOptions => ({
  workload: 'w', memoryMb: 16, callTimeoutMs: 500, messagesPerSecond: 1000, maxMessageBytes: 1024,
  config: {}, env: {}, args: [], preopens: {}, allowedHosts: [], kvDir: undefined, ...over,
});

async function start(guest: string, over: Partial<StartOptions> = {}, on = engine): Promise<Recorded> {
  const { bytes, digest } = guestBytes(guest);
  const compiled = await on.compile(bytes, digest);
  const effects: Effect[] = [];
  const ended: Array<Fatal | undefined> = [];
  const instance = await on.start(compiled, options(over), {
    effects: (list) => effects.push(...list),
    stdout: () => undefined,
    stderr: () => undefined,
    ended: (fatal) => ended.push(fatal),
  });
  return { instance, effects, ended };
}

const telemetry = (effects: Effect[]) => effects.filter((e) => e.type === 'telemetry');

describe('runtime', () => {
  it.each(['temperature-sensor', 'temperature-sensor-sm'])('runs a JavaScript handler built with either engine (%s: QuickJS, SpiderMonkey)', async (guest) => {
    const { instance, effects } = await start(guest, { memoryMb: 128, config: { machine: 'press-9', minTemp: '30', maxTemp: '40' } });
    await instance.call({ fn: 'init' });
    await instance.call({ fn: 'onTimer' });
    const [reading] = telemetry(effects);
    const body = JSON.parse(Buffer.from((reading as Extract<Effect, { type: 'telemetry' }>).msg.body).toString());
    expect(body.machine.name).toBe('press-9');
    expect(body.machine.temperature).toBeGreaterThan(30); // config read through an option: none is null in QuickJS, undefined in SpiderMonkey
    expect(await instance.call({ fn: 'onMethod', name: 'reset', payload: '' })).toBe('{"reset":true}');
    await instance.stop();
  });

  it('runs a handler: init, timer telemetry, on-method result, on-message forwarding', async () => {
    const { instance, effects } = await start('echo');
    await instance.call({ fn: 'init' });
    await instance.call({ fn: 'onTimer' });
    expect(await instance.call({ fn: 'onMethod', name: 'echo', payload: '{"x":1}' })).toBe('{"x":1}');
    await instance.call({ fn: 'onMessage', source: 'input/in', msg: { body: Buffer.from('hi'), contentType: 'text/plain', properties: [] } });
    const sent = telemetry(effects).map((e) => e.type === 'telemetry' && [e.output, Buffer.from(e.msg.body).toString(), e.msg.contentType]);
    expect(sent).toEqual([['ticks', '{"ok":true}', undefined], ['echoed', 'hi', 'text/plain']]);
    await instance.stop();
  });

  it('caches compiled output on disk: a second compile of the same digest is a cache hit', async () => {
    const { bytes, digest } = guestBytes('echo');
    const started = performance.now();
    const again = await engine.compile(bytes, digest);
    expect(performance.now() - started).toBeLessThan(200);
    expect(again.meta.kind).toBe('handler');
  });

  it('a trap ends only that instance, with reason trap', async () => {
    const healthy = await start('echo');
    const bad = await start('trap');
    await bad.instance.call({ fn: 'init' });
    const err = await bad.instance.call({ fn: 'onTimer' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuestFatalError);
    expect((err as GuestFatalError).fatal.reason).toBe('trap');
    await waitFor('trap instance to end', () => bad.ended.length > 0);
    expect(bad.ended[0]?.reason).toBe('trap');
    await healthy.instance.call({ fn: 'onTimer' });
    expect(telemetry(healthy.effects)).toHaveLength(1);
    await healthy.instance.stop();
  });

  it('an infinite loop is ended by callTimeoutMs', async () => {
    const { instance, ended } = await start('loop', { callTimeoutMs: 300 });
    await instance.call({ fn: 'init' });
    const started = Date.now();
    const err = await instance.call({ fn: 'onTimer' }).catch((e: unknown) => e);
    expect((err as GuestFatalError).fatal.reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
    await waitFor('loop instance to end', () => ended.length > 0);
    expect(ended[0]?.reason).toBe('timeout');
  });

  it('memory growth stops at memoryMb and ends the instance with reason oom', async () => {
    const { instance, ended } = await start('grow', { memoryMb: 8 });
    await instance.call({ fn: 'init' });
    const err = await instance.call({ fn: 'onTimer' }).catch((e: unknown) => e);
    expect((err as GuestFatalError).fatal.reason).toBe('oom');
    await waitFor('grow instance to end', () => ended.length > 0);
  });

  it('refuses a module whose initial memory is above memoryMb', async () => {
    const { bytes, digest } = guestBytes('temperature-sensor');
    const compiled = await engine.compile(bytes, digest);
    await expect(engine.start(compiled, options({ memoryMb: 1 }), { effects() {}, stdout() {}, stderr() {}, ended() {} })).rejects.toThrow(/limits.memoryMb is 1/);
  });

  it('a flood is cut at messagesPerSecond: the guest gets err, the rest is counted as refused', async () => {
    const { instance, effects } = await start('flood', { messagesPerSecond: 50, callTimeoutMs: 20_000 });
    await instance.call({ fn: 'init' });
    const started = performance.now();
    await instance.call({ fn: 'onTimer' });
    const seconds = (performance.now() - started) / 1000;
    const accepted = telemetry(effects).length;
    const refused = effects.reduce((n, e) => n + (e.type === 'refused' && e.reason === 'budget' ? e.count : 0), 0);
    expect(accepted + refused).toBe(100_000);
    expect(accepted).toBeGreaterThanOrEqual(50);
    expect(accepted).toBeLessThanOrEqual(50 + Math.ceil(50 * seconds) + 1); // burst + refill, nothing more
    await instance.call({ fn: 'onMethod', name: 'still-alive', payload: 'yes' }); // the instance lives on
    await instance.stop();
  });

  it('wasi:cli/exit ends the guest, not the host', async () => {
    const { instance, ended } = await start('exit');
    await instance.call({ fn: 'init' });
    const err = await instance.call({ fn: 'onTimer' }).catch((e: unknown) => e);
    expect((err as GuestFatalError).fatal).toMatchObject({ reason: 'exit', exitCode: 1 });
    await waitFor('exit instance to end', () => ended.length > 0);
    expect(ended[0]).toMatchObject({ reason: 'exit', exitCode: 1 });
    // The host (this process) lives on and runs guests: exit ended one worker, not the process.
    const next = await start('echo');
    await next.instance.call({ fn: 'init' });
    await next.instance.call({ fn: 'onTimer' });
    expect(next.effects.some((e) => e.type === 'telemetry')).toBe(true);
    await next.instance.stop();
  });

  it('an init that returns err is a guest error, not a crash', async () => {
    const { instance } = await start('init-fails');
    await expect(instance.call({ fn: 'init' })).rejects.toMatchObject({ code: 'WH_ERR_GUEST', message: 'not configured' });
    await instance.stop();
  });

  it('rejects messages over maxMessageBytes with err to the guest', async () => {
    const { instance, effects } = await start('echo', { maxMessageBytes: 8 });
    await instance.call({ fn: 'init' });
    await expect(instance.call({ fn: 'onTimer' })).rejects.toMatchObject({ code: 'WH_ERR_GUEST', message: expect.stringContaining('maxMessageBytes is 8') });
    expect(telemetry(effects)).toHaveLength(0);
    await instance.stop();
  });

  it('queued calls fail with WH_ERR_NOT_RUNNING when the instance is stopped', async () => {
    const { instance } = await start('loop', { callTimeoutMs: 5000 });
    const pending = instance.call({ fn: 'onTimer' }).catch((e: unknown) => e);
    const queued = instance.call({ fn: 'onTimer' }).catch((e: unknown) => e);
    await instance.stop();
    expect(await pending).toMatchObject({ code: 'WH_ERR_NOT_RUNNING' });
    expect(await queued).toMatchObject({ code: 'WH_ERR_NOT_RUNNING' });
  });

  it('a handler that touches no file, stream or socket costs one thread in the runner, not two (the shim\'s I/O thread starts on first use)', async () => {
    await (await start('echo')).instance.stop(); // the runner is up
    const pid = engine.runnerStats()!.pid!;
    const threads = () => readdirSync(`/proc/${pid}/task`).length;
    await new Promise((r) => setTimeout(r, 300)); // the warm spare is started
    const before = threads();
    const started = await Promise.all(Array.from({ length: 4 }, () => start('echo')));
    for (const { instance } of started) await instance.call({ fn: 'init' });
    await new Promise((r) => setTimeout(r, 300));
    const added = threads() - before;
    await Promise.all(started.map(({ instance }) => instance.stop()));
    expect(added).toBeLessThanOrEqual(5); // one per workload (and the spare's replacement); two each before
  });

  it("under glibc, the runner's malloc arenas stay at two however many workload threads allocate (each thread had its own, 13 with 5 workloads, and RSS crept with them)", async () => {
    const glibc = await runnerWith({ LD_PRELOAD: '' }); // the operator's choice: no jemalloc
    try {
      const started = await Promise.all(Array.from({ length: 8 }, () => start('echo', {}, glibc)));
      for (let round = 0; round < 50; round++) await Promise.all(started.map(({ instance }) => instance.call({ fn: 'onTimer' })));
      const pid = glibc.runnerStats()!.pid!;
      const [arenas, jemalloc] = [mallocArenas(pid), mapsJemalloc(pid)];
      await Promise.all(started.map(({ instance }) => instance.stop()));
      expect(jemalloc).toBe(false);
      expect(arenas).toBeLessThanOrEqual(1); // thread arenas; the main one is [heap]
    } finally {
      await glibc.close();
    }
  });

  it("reports the heap of the runner's main thread (the relay between host and workers) beside its resident memory", async () => {
    const started = await Promise.all(Array.from({ length: 4 }, () => start('echo')));
    for (let round = 0; round < 100; round++) await Promise.all(started.map(({ instance }) => instance.call({ fn: 'onTimer' })));
    const before = engine.runnerStats()!;
    // A report whose committed heap is the same as the last one's is still a new report: its resident memory tells.
    await waitFor('the runner reports again', () => {
      const now = engine.runnerStats()!;
      return now.heapBytes !== before.heapBytes || now.rssBytes !== before.rssBytes;
    }, 8000);
    await Promise.all(started.map(({ instance }) => instance.stop()));
    const { heapBytes, rssBytes } = engine.runnerStats()!;
    expect(heapBytes).toBeGreaterThan(1024 * 1024);
    expect(heapBytes).toBeLessThan(rssBytes);
  });

  it("the runner's isolates pace their full collections unless the host says not to, and its young generation is kept small", async () => {
    await (await start('echo')).instance.stop();
    const flags = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(flags(engine.runnerStats()!.pid!)).toEqual(expect.arrayContaining(['--expose-gc', '--compact-on-every-full-gc', '--max-semi-space-size=1']));
    const unpaced = new Engine(`${tmp.path}/compiled`, { pacedGc: false });
    try {
      await (await start('echo', {}, unpaced)).instance.stop();
      expect(flags(unpaced.runnerStats()!.pid!)).not.toContain('--expose-gc');
    } finally {
      await unpaced.close();
    }
  });

  it('the runner allocates with jemalloc where the system has it (glibc kept a fragmented arena\'s high-water mark for good)', async () => {
    expect(JEMALLOC_PATHS.filter((path) => existsSync(path))).not.toEqual([]); // .ci/run installs libjemalloc2, as the image does
    await (await start('echo')).instance.stop();
    const pid = engine.runnerStats()!.pid!;
    expect(mapsJemalloc(pid)).toBe(true);
    // One arena (allocator.ts): the environment the runner process started with.
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toContain(`MALLOC_CONF=${JEMALLOC_CONF}`);
  });

  it("an operator's LD_PRELOAD wins over jemalloc; without the library the runner keeps glibc, two arenas", () => {
    const jemalloc = runnerAllocatorEnv({}, () => true);
    expect(jemalloc).toMatchObject({ LD_PRELOAD: JEMALLOC_PATHS[0], MALLOC_ARENA_MAX: '2', MALLOC_CONF: 'narenas:1' });
    expect(runnerAllocatorEnv({ LD_PRELOAD: '/opt/tcmalloc.so' }, () => true)).not.toHaveProperty('LD_PRELOAD');
    expect(runnerAllocatorEnv({}, () => false)).toEqual({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' });
  });
});

/** An engine whose runner process starts with `env` over this process's (read when the runner forks). */
async function runnerWith(env: Record<string, string>): Promise<Engine> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  const other = new Engine(`${tmp.path}/compiled`);
  try {
    await (await start('echo', {}, other)).instance.stop(); // forks the runner
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  return other;
}
