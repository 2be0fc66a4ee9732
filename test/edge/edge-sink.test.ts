// The send path to edgeHub holds nothing per message once it is acknowledged (the soak found 185 MB an
// hour of reactions left on a shared never-settling promise), and a lost link fails what is in flight.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EdgeSink } from '../../dist/edge/edge-sink.js';
import { createLogger } from '../../dist/ops/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const message = (i: number) => ({ workload: 'w', digest: 'd', output: 'temperature', messageId: `m${i}`, msg: { body: Buffer.from(`{"i":${i}}`), contentType: 'application/json', properties: [] as Array<[string, string]> } });

function sinkWith(sendOutput: () => Promise<unknown>): EdgeSink {
  const sink = new EdgeSink(createLogger('error', () => undefined));
  sink.attach({ sendOutput } as never);
  return sink;
}

it('keeps nothing per acknowledged message: 200,000 sends leave no pending entry and no heap growth', async () => {
  const sink = sinkWith(() => Promise.resolve());
  const round = async () => {
    for (let i = 0; i < 1000; i++) await Promise.all(Array.from({ length: 100 }, (_, j) => sink.sendAcked(message(i * 100 + j))));
  };
  await round(); // warm up
  gc();
  const before = process.memoryUsage().heapUsed;
  await round();
  await round();
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  expect(sink.pending).toBe(0);
  expect(grown).toBeLessThan(2 * 1024 * 1024); // 200,000 messages; the old race held ~100 bytes each (20 MB)
});

it('a lost link fails the sends in flight, at once', async () => {
  const sink = sinkWith(() => new Promise(() => undefined)); // never acknowledged
  const sends = [sink.sendAcked(message(1)), sink.sendAcked(message(2))];
  expect(sink.pending).toBe(2);
  sink.detach();
  await expect(Promise.all(sends)).rejects.toThrow('edgeHub connection lost');
  expect(sink.pending).toBe(0);
  await expect(sink.sendAcked(message(3))).rejects.toThrow('no edgeHub connection');
});
