import { formatLine, parseLogLevel, createLogger, LogRing, Operations } from '../../dist/ops/index.js';
import { connect, type Socket } from 'node:net';
import { freePort, parseExposition, sampleValue, waitFor } from '../helpers.js';

describe('logger', () => {
  it('writes edgeAgent lines: syslog severity, UTC time, level tag', () => {
    expect(formatLine('warn', 'disk low', new Date('2026-11-24T10:00:00.123Z'))).toBe('<4> 2026-11-24 10:00:00.123 +00:00 [WRN] - disk low\n');
    expect(formatLine('error', 'a\nb', new Date(0))).toBe('<3> 1970-01-01 00:00:00.000 +00:00 [ERR] - a b\n');
  });
  it('reads RuntimeLogLevel as the system modules do and drops lower levels', () => {
    expect(parseLogLevel('Warning')).toBe('warn');
    expect(parseLogLevel('verbose')).toBe('trace');
    expect(parseLogLevel(undefined)).toBe('info');
    const lines: string[] = [];
    const log = createLogger('warn', (l) => lines.push(l)).forWorkload('f');
    log.info('quiet');
    log.error('loud');
    expect(lines).toEqual([expect.stringMatching(/\[ERR\] - \[workload=f\] loud\n$/)]);
  });
  it('keeps the newest records in a bounded ring', () => {
    const ring = new LogRing(3);
    for (const n of [1, 2, 3, 4, 5]) ring.push('info', String(n));
    expect(ring.toArray().map((r) => r.text)).toEqual(['3', '4', '5']);
  });
});

describe('Operations (metrics and health endpoint)', () => {
  const sample = (name: string, status: string) => ({
    name, status, digest: null, kind: 'handler', since: '', restarts: 0, lastError: null, lastExitReason: null, lastExitCode: null,
    nextRestartAt: null, rolledBackFrom: null, desiredVersion: null, messagesSent: 7, messagesRefused: 0, messagesDropped: 0, memoryBytes: 65536, heapBytes: 1024, heapCommittedBytes: 2048, outboxUnsentBytes: 0, usedMemoryBytes: 66560, usedCpuPercent: 12.5,
  });
  const labels = { iothub: 'hub.example', edge_device: 'dev1', instance_number: 'i-1' };

  it('answers health 200 while running and 503 once shutdown has begun; a taken port is logged, not fatal', async () => {
    let workloads = [sample('a', 'running'), sample('b', 'backoff')];
    const ops = new Operations(() => workloads as never, labels);
    const logs: string[] = [];
    const port = await freePort();
    expect(await ops.listen(port, '127.0.0.1', createLogger('info', (l) => logs.push(l)))).toBe(port);
    const health = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      return [res.status, await res.json()];
    };
    expect(await health()).toEqual([200, { status: 'ok', uptimeSeconds: expect.any(Number), workloads: { running: 1, backoff: 1 } }]);
    const taken = new Operations(() => [], labels);
    expect(await taken.listen(port, '127.0.0.1', createLogger('info', (l) => logs.push(l)))).toBeUndefined();
    expect(logs.join('')).toMatch(/metrics endpoint not started on 127\.0\.0\.1:\d+: listen EADDRINUSE/);
    ops.stopping();
    expect(await health()).toEqual([503, expect.objectContaining({ status: 'stopping' })]);
    workloads = [];
    await ops.close();
  });

  it('holds at most 64 connections: a crowd of idle sockets cannot take the host\'s descriptors, and it serves again once they go', async () => {
    const ops = new Operations(() => [], labels);
    const port = await freePort();
    await ops.listen(port, '127.0.0.1', createLogger('error', () => undefined));
    const sockets = await Promise.all(Array.from({ length: 100 }, () => new Promise<Socket>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => resolve(socket));
      socket.on('error', () => undefined);
    })));
    const closedAtOnce = sockets.map((s) => new Promise<boolean>((r) => {
      s.once('close', () => r(true));
      setTimeout(() => r(false), 2000);
    }));
    expect((await Promise.all(closedAtOnce)).filter(Boolean)).toHaveLength(36);
    for (const s of sockets) s.destroy();
    await waitFor('serving again', () => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false));
    await ops.close();
  });

  it('counts calls, failures and restarts per workload, and drops a removed workload\'s series', async () => {
    let workloads = [sample('a', 'running')];
    const ops = new Operations(() => workloads as never, labels);
    const meter = ops.meter('a');
    meter.called('onTimer', true, { durationMs: 2, memoryBytes: 65536 });
    meter.called('onTimer', false, { durationMs: 4, memoryBytes: 65536 });
    meter.failed('trap');
    meter.restarting('trap');
    let samples = parseExposition(await ops.metrics.metrics());
    expect(sampleValue(samples, 'wasmhost_workload_used_memory_bytes', { workload: 'a' })).toBe(66560);
    expect(sampleValue(samples, 'wasmhost_workload_used_cpu_percent', { workload: 'a' })).toBe(12.5);
    expect(sampleValue(samples, 'wasmhost_workload_call_duration_seconds_count', { workload: 'a', export: 'on-timer' })).toBe(2);
    expect(sampleValue(samples, 'wasmhost_workload_call_duration_seconds_sum', { workload: 'a', export: 'on-timer' })).toBeCloseTo(0.006);
    expect(sampleValue(samples, 'wasmhost_workload_call_errors_total', { workload: 'a', export: 'on-timer' })).toBe(1);
    expect(sampleValue(samples, 'wasmhost_workload_failures_total', { workload: 'a', reason: 'trap' })).toBe(1);
    expect(sampleValue(samples, 'wasmhost_messages_sent_total', { workload: 'a', iothub: 'hub.example', edge_device: 'dev1', instance_number: 'i-1' })).toBe(7);
    workloads = [];
    samples = parseExposition(await ops.metrics.metrics());
    expect(samples.filter((s) => s.labels.workload === 'a')).toEqual([]);
    expect(sampleValue(samples, 'wasmhost_workloads')).toBe(0);
  });
});
