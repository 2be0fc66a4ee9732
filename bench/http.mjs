// http workload benchmark: request latency of the http-echo guest (StarlingMonkey: a fresh instance per
// request, as wasi:http's proxy model has it) and of http-hello (a small WAT guest whose instance is
// reused), each against a plain Node http server in the same run (p50, p95, p99, requests/s).
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../dist/runtime/index.js';
import { freePort } from '../test-support/free-port.mjs';
import { median, report } from './stats.mjs';

const REQUESTS = 100;
const GAP_MS = 50;
const listener = { effects() {}, stdout() {}, stderr() {}, ended() {} };

/**
 * Median and p95 latency of REQUESTS sequential POSTs (after 10 to warm up), and requests/s;
 * `gapMs` between requests, as a device's occasional callers leave.
 */
async function latency(url, gapMs = 0) {
  const once = async (i) => {
    const t = performance.now();
    const res = await fetch(url, { method: 'POST', body: `request ${i}` });
    await res.text();
    if (res.status !== 200) throw new Error(`bench: HTTP ${res.status}`);
    return performance.now() - t;
  };
  for (let i = 0; i < 10; i++) await once(i);
  const times = [];
  const start = performance.now();
  for (let i = 0; i < REQUESTS; i++) {
    times.push(await once(i));
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
  const perSecond = REQUESTS / ((performance.now() - start) / 1000);
  times.sort((a, b) => a - b);
  return { median: median(times), p95: times[Math.floor(times.length * 0.95)], p99: times[Math.floor(times.length * 0.99)], perSecond };
}

/** The same answer as http-echo, from plain Node. */
function plainServer() {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      const seen = { method: req.method, path: new URL(req.url, 'http://x').pathname, bytes: Buffer.byteLength(body) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...seen, body }));
    });
  });
}

export async function httpBench() {
  const dir = mkdtempSync(join(tmpdir(), 'wh-http-bench-'));
  const engine = new Engine(dir);
  const plain = plainServer();
  try {
    const serve = async (guest) => {
      const bytes = readFileSync(new URL(`../guest-modules/dist/${guest}.wasm`, import.meta.url));
      const compiled = await engine.compile(bytes, createHash('sha256').update(bytes).digest('hex'));
      const port = await freePort();
      const instance = await engine.start(compiled, {
        workload: 'bench', memoryMb: 128, callTimeoutMs: 10_000, messagesPerSecond: 1e9, maxMessageBytes: 262144,
        config: {}, env: {}, args: [], preopens: {}, allowedHosts: [], kvDir: undefined, listen: { port, host: '127.0.0.1' },
      }, listener);
      const backToBack = await latency(`http://127.0.0.1:${port}/echo`);
      const spaced = await latency(`http://127.0.0.1:${port}/echo`, GAP_MS);
      await instance.stop();
      return { backToBack, spaced };
    };
    const echo = await serve('http-echo');
    const hello = await serve('http-hello');
    await new Promise((r) => plain.listen(0, '127.0.0.1', r));
    const base = await latency(`http://127.0.0.1:${plain.address().port}/echo`);
    const baseSpaced = await latency(`http://127.0.0.1:${plain.address().port}/echo`, GAP_MS);
    const rows = (name, { backToBack: ours, spaced }) => [
      [`${name} request latency, median, back to back`, `${ours.median.toFixed(2)} ms`, `plain Node http server: ${base.median.toFixed(2)} ms`, `${(ours.median / base.median).toFixed(1)}x`],
      [`${name} request latency, p95 / p99`, `${ours.p95.toFixed(2)} / ${ours.p99.toFixed(2)} ms`, `plain Node: ${base.p95.toFixed(2)} / ${base.p99.toFixed(2)} ms`, `${(ours.p99 / base.p99).toFixed(1)}x (p99)`],
      [`${name} request latency, median, requests ${GAP_MS} ms apart`, `${spaced.median.toFixed(2)} ms`, `plain Node http server: ${baseSpaced.median.toFixed(2)} ms`, `${(spaced.median / baseSpaced.median).toFixed(1)}x`],
      [`${name} requests/s, one client back to back`, `${ours.perSecond.toFixed(0)}`, `plain Node http server: ${base.perSecond.toFixed(0)}`, `${(ours.perSecond / base.perSecond).toFixed(3)}`],
    ];
    return report('http workloads', [
      ...rows('http-echo (12 MB StarlingMonkey JS, a fresh instance per request)', echo),
      ...rows('http-hello (7 KB WAT, its instance reused)', hello),
    ]);
  } finally {
    plain.close();
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
