import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { errorText, WasmhostError } from '../errors.js';
import { Engine, GuestFatalError, KEEP_RECENT, type CompiledComponent, type Effect, type HandlerCall, type WorkloadInstance } from '../runtime/index.js';
import { bodyValue, describeMismatch, matches } from './expect.js';
import type { Project } from './project.js';

const Json = z.unknown();
const Expect = z.strictObject({
  telemetry: z.array(z.strictObject({ output: z.string().optional(), body: Json.optional() })).optional(),
  publishes: z.array(z.strictObject({ topic: z.string().optional(), body: Json.optional() })).optional(),
  result: Json.optional(),
  error: z.string().optional(),
  status: z.number().int().optional(),
  body: Json.optional(),
  exitCode: z.number().int().optional(),
});
const Step = z.union([
  z.strictObject({ tick: z.number().int().min(1).max(10_000), expect: Expect.optional() }),
  z.strictObject({ message: z.strictObject({ source: z.string(), body: Json, contentType: z.string().optional(), properties: z.record(z.string(), z.string()).optional() }), expect: Expect.optional() }),
  z.strictObject({ method: z.strictObject({ name: z.string(), payload: Json.optional() }), expect: Expect.optional() }),
  z.strictObject({ request: z.strictObject({ method: z.string().optional(), path: z.string(), body: Json.optional(), headers: z.record(z.string(), z.string()).optional() }), expect: Expect.optional() }),
  z.strictObject({ run: z.literal(true), expect: Expect.optional() }),
  /** Time passing (real time: the guest reads the wall clock through WASI), at most 10 s. */
  z.strictObject({ wait: z.number().int().min(0).max(10_000), expect: Expect.optional() }),
]);
const TestCase = z.strictObject({
  name: z.string().optional(),
  config: z.record(z.string(), z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  memoryMb: z.number().int().min(1).max(4096).optional(),
  steps: z.array(Step).min(1),
});
type TestCase = z.infer<typeof TestCase>;
type Step = z.infer<typeof Step>;
type Expect = z.infer<typeof Expect>;

/** What a step made happen. */
interface Observed {
  telemetry: Array<{ output: string; body: unknown }>;
  publishes: Array<{ topic: string; body: unknown }>;
  result?: unknown;
  error?: string;
  status?: number;
  body?: unknown;
  exitCode?: number;
}

export interface TestReport {
  readonly passed: number;
  readonly failed: number;
  /** One line per test, and the expected/actual of the first failing step. */
  readonly lines: string[];
}

const encoder = new TextEncoder();
const asBody = (value: unknown): Uint8Array => encoder.encode(typeof value === 'string' ? value : JSON.stringify(value));

/** One test's guest: a fresh instance (and kv) in the same sandbox, host API and limits as the host's. */
class Harness {
  observed: Observed = { telemetry: [], publishes: [] };
  instance: WorkloadInstance | undefined;
  readonly #kvDir = mkdtempSync(join(tmpdir(), 'wasmhost-test-kv-'));

  constructor(private readonly engine: Engine, private readonly compiled: CompiledComponent, private readonly project: Project, private readonly test: TestCase) {}

  async start(): Promise<void> {
    await this.instance?.stop();
    this.instance = await this.engine.start(this.compiled, {
      workload: this.project.name, memoryMb: this.test.memoryMb ?? 128, callTimeoutMs: 10_000, messagesPerSecond: 1000, maxMessageBytes: 262_144,
      config: this.test.config ?? {}, env: this.test.env ?? {}, args: this.test.args ?? [], preopens: {}, allowedHosts: [], kvDir: this.#kvDir,
      listen: this.compiled.meta.kind === 'http' ? { port: 0, host: '127.0.0.1' } : undefined,
    }, {
      effects: (effects) => effects.forEach((e) => this.#effect(e)),
      // A command's stdout lines are its telemetry, on an output named after the workload (as in the host).
      stdout: (line) => this.observed.telemetry.push({ output: this.project.name, body: bodyValue(line) }),
      stderr: () => undefined,
      ended: () => undefined,
    });
    if (this.compiled.meta.kind === 'handler') await this.instance.call({ fn: 'init' });
  }

  #effect(e: Effect): void {
    if (e.type === 'telemetry') this.observed.telemetry.push({ output: e.output, body: bodyValue(e.msg.body) });
    else if (e.type === 'publish') this.observed.publishes.push({ topic: e.topic, body: bodyValue(e.msg.body) });
  }

  get port(): number | undefined {
    return this.instance?.httpPort;
  }

  async call(call: HandlerCall): Promise<string | undefined> {
    if (!this.instance) throw new WasmhostError('WH_ERR_NOT_RUNNING', 'the guest is not running');
    return this.instance.call(call);
  }

  async close(): Promise<void> {
    await this.instance?.stop();
    rmSync(this.#kvDir, { recursive: true, force: true });
  }
}

async function perform(h: Harness, step: Step): Promise<void> {
  const o = h.observed;
  if ('tick' in step) {
    for (let i = 0; i < step.tick; i++) await h.call({ fn: 'onTimer' });
  } else if ('message' in step) {
    const { source, body, contentType, properties } = step.message;
    const json = typeof body !== 'string';
    await h.call({ fn: 'onMessage', source, msg: { body: asBody(body), contentType: contentType ?? (json ? 'application/json' : 'text/plain'), properties: Object.entries(properties ?? {}) } });
  } else if ('method' in step) {
    const { name, payload } = step.method;
    try {
      const value = await h.call({ fn: 'onMethod', name, payload: payload === undefined ? '' : typeof payload === 'string' ? payload : JSON.stringify(payload) });
      o.result = value === undefined ? undefined : bodyValue(value);
    } catch (err) {
      o.error = errorText(err);
    }
  } else if ('request' in step) {
    const { method = 'GET', path, body, headers } = step.request;
    const response = await fetch(`http://127.0.0.1:${h.port}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    o.status = response.status;
    o.body = bodyValue(await response.text());
    await new Promise((r) => setTimeout(r, 50)); // the request's telemetry follows its answer
  } else if ('run' in step) {
    await h.start();
    try {
      await h.call({ fn: 'run' });
      o.exitCode = 0;
    } catch (err) {
      if (err instanceof GuestFatalError && err.fatal.reason === 'exit') o.exitCode = err.fatal.exitCode ?? 1;
      else if (err instanceof WasmhostError && err.code === 'WH_ERR_GUEST') o.exitCode = 1;
      else throw err;
    }
    await h.instance?.close(); // its last stdout lines
  } else {
    await new Promise((r) => setTimeout(r, step.wait));
  }
}

/** The first way `observed` differs from `expect`, described; undefined when it matches. */
function mismatch(expect: Expect | undefined, o: Observed): string | undefined {
  if (!expect) return o.error === undefined ? undefined : describeMismatch('error', undefined, o.error);
  for (const key of ['telemetry', 'publishes'] as const) {
    if (expect[key] !== undefined && !matches(expect[key], o[key])) return describeMismatch(key, expect[key], o[key]);
  }
  if (expect.error !== undefined) {
    if (o.error === undefined || !o.error.includes(expect.error)) return describeMismatch('error', expect.error, o.error ?? null);
  } else if (o.error !== undefined) {
    return describeMismatch('error', null, o.error);
  }
  for (const key of ['result', 'status', 'body', 'exitCode'] as const) {
    if (expect[key] !== undefined && !matches(expect[key], o[key])) return describeMismatch(key, expect[key], o[key] ?? null);
  }
  return undefined;
}

function stepName(step: Step): string {
  if ('tick' in step) return `tick x${step.tick}`;
  if ('message' in step) return `message on ${step.message.source}`;
  if ('method' in step) return `method ${step.method.name}`;
  if ('request' in step) return `request ${step.request.method ?? 'GET'} ${step.request.path}`;
  if ('run' in step) return 'run';
  return `wait ${step.wait} ms`;
}

/** Runs one test; resolves with the failure's description, or undefined when every step matched. */
async function runTest(engine: Engine, compiled: CompiledComponent, project: Project, test: TestCase): Promise<string | undefined> {
  const h = new Harness(engine, compiled, project, test);
  try {
    if (compiled.meta.kind !== 'command') await h.start();
    for (const [i, step] of test.steps.entries()) {
      h.observed = { telemetry: [], publishes: [] };
      try {
        await perform(h, step);
      } catch (err) {
        return `step ${i + 1} (${stepName(step)}): ${errorText(err)}`;
      }
      const problem = mismatch(step.expect, h.observed);
      if (problem) return `step ${i + 1} (${stepName(step)}): ${problem}`;
    }
    return undefined;
  } catch (err) {
    return `the guest did not start: ${errorText(err)}`;
  } finally {
    await h.close();
  }
}

function readTests(project: Project): Array<{ file: string; test: TestCase }> {
  const dir = join(project.dir, 'tests');
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.test.json')).sort();
  } catch {
    names = [];
  }
  if (!names.length) throw new WasmhostError('WH_ERR_CLI_USAGE', `no tests: add tests/<name>.test.json (see the project's README)`);
  return names.flatMap((file) => {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch (err) {
      throw new WasmhostError('WH_ERR_CLI_USAGE', `tests/${file}: not JSON: ${(err as Error).message}`);
    }
    const many = (raw as { tests?: unknown }).tests;
    const list: unknown[] = Array.isArray(many) ? many : [raw];
    return list.map((entry, i) => {
      const parsed = TestCase.safeParse(entry);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new WasmhostError('WH_ERR_CLI_USAGE', `tests/${file}${list.length > 1 ? ` test ${i + 1}` : ''}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
      }
      return { file, test: parsed.data };
    });
  });
}

/** `wasmhost test`: every tests/*.test.json against the built component, in the real runtime. */
export async function testProject(project: Project): Promise<TestReport> {
  const tests = readTests(project);
  let bytes: Buffer;
  try {
    bytes = readFileSync(project.output);
  } catch {
    throw new WasmhostError('WH_ERR_CLI_USAGE', `${project.output} is not built yet: run wasmhost build`);
  }
  const engine = new Engine(join(tmpdir(), 'wasmhost-test-compiled'), { placement: 'threads', collectAfterCompile: KEEP_RECENT });
  const lines: string[] = [];
  let passed = 0;
  try {
    const compiled = await engine.compile(bytes, createHash('sha256').update(bytes).digest('hex'));
    for (const { file, test } of tests) {
      const title = `${file}${test.name ? `: ${test.name}` : ''}`;
      const failure = await runTest(engine, compiled, project, test);
      if (failure) lines.push(`FAIL ${title}\n  ${failure}`);
      else {
        passed++;
        lines.push(`PASS ${title}`);
      }
    }
  } finally {
    await engine.close();
  }
  return { passed, failed: tests.length - passed, lines };
}
