// Local mode's outputs are bounded: a guest naming many outputs or sending without end cannot make the
// host hold many files open or fill the disk.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FLUSH_MS, LocalSink } from '../../dist/local/local-sink.js';
import { tempDir, waitFor } from '../helpers.js';

const message = (output: string, text: string) => ({ workload: 'w', digest: 'd', output, msg: { body: Buffer.from(text), contentType: 'text/plain', properties: [] as Array<[string, string]> } });
const openFds = () => readdirSync('/proc/self/fd').length;

it('keeps at most 16 output files open however many outputs a guest names', async () => {
  const tmp = tempDir();
  const sink = new LocalSink(tmp.path, () => undefined);
  const before = openFds();
  for (let i = 0; i < 200; i++) sink.send(message(`out${i}`, 'x'));
  // Lines wait FLUSH_MS for their write; files past the 16 are then ended, and close once their writes are
  // done on the thread pool (seconds on two busy cores), so wait for that rather than a fixed time.
  await waitFor('files beyond 16 closed', () => openFds() - before <= 16, 15_000, () => `${openFds() - before} open`);
  expect(openFds() - before).toBeLessThanOrEqual(16);
  await sink.close();
  expect(readdirSync(tmp.path).filter((f) => f.endsWith('.jsonl'))).toHaveLength(200);
  tmp.cleanup();
});

it('moves a full output file aside (one older generation kept) instead of growing it without end', async () => {
  const tmp = tempDir();
  const sink = new LocalSink(tmp.path, () => undefined, 4096);
  for (let i = 0; i < 300; i++) sink.send(message('big', 'y'.repeat(50)));
  await sink.close();
  const file = join(tmp.path, 'big.jsonl');
  expect(statSync(file).size).toBeLessThanOrEqual(4096);
  expect(existsSync(`${file}.1`)).toBe(true);
  expect(statSync(`${file}.1`).size).toBeLessThanOrEqual(4096);
  expect(readdirSync(tmp.path).sort()).toEqual(['big.jsonl', 'big.jsonl.1']);
  tmp.cleanup();
});

it('writes the lines sent within 50 ms as one write per destination, in the order sent', async () => {
  const tmp = tempDir();
  const writes: string[] = [];
  const sink = new LocalSink(tmp.path, (text) => writes.push(text));
  for (let i = 0; i < 50; i++) sink.send(message(i % 2 ? 'odd' : 'even', `m${i}`));
  await new Promise((r) => setImmediate(r));
  expect(writes).toHaveLength(0);
  await new Promise((r) => setTimeout(r, FLUSH_MS + 20));
  expect(writes).toHaveLength(1);
  const bodies = (text: string) => text.trim().split('\n').map((line) => (JSON.parse(line) as { body: string }).body);
  expect(bodies(writes[0]!)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
  sink.send(message('odd', 'late'));
  await sink.close(); // close writes what is still held
  expect(writes).toHaveLength(2);
  expect(bodies(readFileSync(join(tmp.path, 'odd.jsonl'), 'utf8'))).toEqual([...Array.from({ length: 25 }, (_, i) => `m${2 * i + 1}`), 'late']);
  expect(bodies(readFileSync(join(tmp.path, 'even.jsonl'), 'utf8'))).toEqual(Array.from({ length: 25 }, (_, i) => `m${2 * i}`));
  tmp.cleanup();
});

it('writes at once past 256 KB held, without waiting for the timer', () => {
  const tmp = tempDir();
  const writes: string[] = [];
  const sink = new LocalSink(tmp.path, (text) => writes.push(text));
  for (let i = 0; i < 300; i++) sink.send(message('big', 'z'.repeat(1024)));
  expect(writes.length).toBeGreaterThanOrEqual(1);
  expect(writes.join('').length).toBeGreaterThanOrEqual(256 * 1024);
  return sink.close().then(tmp.cleanup);
});
