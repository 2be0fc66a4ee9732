// What clients can make the broker keep: retained topics, messages for stored sessions, QoS 2 publishes
// awaiting PUBREL, sessions of clients long gone, subscriptions. Real mqtt.js clients (and a raw MQTT
// socket where mqtt.js would always answer) against the broker, in process with small bounds.
import { connect as connectTcp, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { LocalBroker, STORE_LIMITS, type StoreLimits } from '../../dist/broker/index.js';
import { createLogger } from '../../dist/ops/index.js';
import { createHash } from 'node:crypto';
import { freePort, packetIdsCached, waitFor } from '../helpers.js';

const LIMITS: StoreLimits = { ...STORE_LIMITS, retainedTopics: 5, retainedBytes: 4000, keptPerClient: 10, keptBytesPerClient: 1 << 20, keptBytes: 1 << 20, storedSessions: 2, storedSessionMs: 60_000, subscriptionsPerClient: 3, filterBytes: 64 };

let broker: LocalBroker;
let port = 0;
let logs = '';
const drops: Array<[string, string]> = [];
const clients: MqttClient[] = [];

async function startBroker(limits: StoreLimits): Promise<void> {
  broker = await LocalBroker.start({
    log: createLogger('debug', (line) => void (logs += line)),
    allowAnonymous: true,
    maxPacketBytes: 300_000,
    maxClients: 64,
    clientRate: 100_000,
    totalRate: 100_000,
    toWorkloads: () => undefined,
    meter: { message: () => undefined, dropped: (client, reason) => void drops.push([client, reason]) },
    limits,
  });
  port = (await broker.listen(await freePort(), 0, '127.0.0.1')).tcp!;
}

function connect(options: IClientOptions = {}): Promise<MqttClient & { sessionPresent?: boolean }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    clients.push(client);
    client.once('connect', (connack) => resolve(Object.assign(client, { sessionPresent: connack.sessionPresent })));
    client.once('error', reject);
  });
}

const end = (client: MqttClient) => new Promise<void>((r) => client.end(false, {}, () => r()));
const received = (client: MqttClient) => {
  const got: Array<{ topic: string; payload: string; retain: boolean }> = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }));
  return got;
};
/** The SUBACK's codes (mqtt.js rejects a SUBACK with any refusal in it, with the packet). */
const subscribeCodes = (client: MqttClient, subs: Record<string, { qos: 0 | 1 }>) =>
  client.subscribeAsync(subs).then(
    (granted) => granted.map((g) => g.qos),
    (err: { packet?: { granted?: number[] } }) => err.packet?.granted ?? [],
  );
const publish = (client: MqttClient, topic: string, payload: string, options: { qos?: 0 | 1; retain?: boolean } = {}) =>
  new Promise<void>((resolve, reject) => client.publish(topic, payload, { qos: 1, ...options }, (err) => (err ? reject(err) : resolve())));

beforeEach(async () => {
  logs = '';
  drops.length = 0;
  await startBroker(LIMITS);
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await broker.close();
});

it('keeps at most the retained topics and bytes it allows; one it does not keep is still delivered, and leaves no older copy behind', async () => {
  const live = await connect();
  const liveGot = received(live);
  await live.subscribeAsync('r/#', { qos: 1 });
  const publisher = await connect({ clientId: 'retainer' });
  for (let i = 0; i < 8; i++) await publish(publisher, `r/${i}`, `v${i}`, { retain: true });
  await waitFor('all 8 delivered live', () => liveGot.length === 8);
  expect(drops.filter(([, reason]) => reason === 'not-retained')).toHaveLength(3);
  // r/0 replaced by a message too large to keep: r/0's older message is not what a new subscriber gets.
  await publish(publisher, 'r/0', 'x'.repeat(5000), { retain: true });
  await publish(publisher, 'r/1', '', { retain: true }); // cleared: a slot frees
  await publish(publisher, 'r/7', 'v7 again', { retain: true });
  const late = await connect();
  const lateGot = received(late);
  await late.subscribeAsync('r/#', { qos: 1 });
  await waitFor('retained delivered', () => lateGot.length === 4);
  await new Promise((r) => setTimeout(r, 200));
  expect(lateGot.map((m) => `${m.topic}=${m.payload}`).sort()).toEqual(['r/2=v2', 'r/3=v3', 'r/4=v4', 'r/7=v7 again']);
  expect(broker.storedBytes.retained).toBe(['r/2v2', 'r/3v3', 'r/4v4', 'r/7v7 again'].join('').length);
});

it('a stored session keeps at most its share of messages while its client is away; the rest are counted, and the others are served', async () => {
  const sleeper = await connect({ clientId: 'sleeper', clean: false });
  await sleeper.subscribeAsync('q/#', { qos: 1 });
  await end(sleeper);
  const awake = await connect();
  const awakeGot = received(awake);
  await awake.subscribeAsync('q/#', { qos: 1 });
  const publisher = await connect();
  for (let i = 0; i < 25; i++) await publish(publisher, 'q/x', `m${i}`);
  await waitFor('the connected subscriber got all', () => awakeGot.length === 25);
  expect(broker.storedBytes.kept).toBe(10 * 'q/xm0'.length);
  const back = await connect({ clientId: 'sleeper', clean: false });
  const backGot = received(back);
  expect(back.sessionPresent).toBe(true);
  await waitFor('the queued ones', () => backGot.length === 10);
  await new Promise((r) => setTimeout(r, 200));
  expect(backGot.map((m) => m.payload)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  expect(drops.filter(([, reason]) => reason === 'not-kept')).toHaveLength(15);
  await waitFor('acknowledged and released', () => broker.storedBytes.kept === 0);
  expect(logs).toMatch(/a message was not kept for client anonymous \(id "sleeper"\)/);
});

it('all sessions together keep at most the total bytes', async () => {
  await broker.close();
  await startBroker({ ...LIMITS, keptPerClient: 1000, keptBytes: 1000 });
  for (const id of ['s1', 's2']) {
    const c = await connect({ clientId: id, clean: false });
    await c.subscribeAsync('t/#', { qos: 1 });
    await end(c);
  }
  const publisher = await connect();
  for (let i = 0; i < 20; i++) await publish(publisher, 't/x', 'y'.repeat(97)); // 100 bytes each with the topic
  expect(broker.storedBytes.kept).toBe(1000);
  let total = 0;
  for (const id of ['s1', 's2']) {
    const got = received(await connect({ clientId: id, clean: false }));
    await new Promise((r) => setTimeout(r, 300));
    total += got.length;
  }
  expect(total).toBe(10);
});

/** A raw MQTT 3.1.1 connection: mqtt.js always answers PUBREC with PUBREL. */
async function rawClient(clientId: string): Promise<{ socket: Socket; send(packet: object): void; closed: Promise<void> }> {
  const socket = connectTcp(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const send = (packet: object) => socket.write(mqttPacket.generate(packet as mqttPacket.Packet));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.on('error', () => undefined);
  send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 });
  await new Promise((r) => socket.once('data', r)); // CONNACK
  return { socket, send, closed };
}

it('a client leaving QoS 2 publishes without PUBREL is disconnected at its share, and what it left is released', async () => {
  const raw = await rawClient('no-pubrel');
  for (let id = 1; id <= 10; id++) raw.send({ cmd: 'publish', topic: 'z/x', payload: Buffer.from('p'), qos: 2, messageId: id, retain: false, dup: false });
  await waitFor('10 awaiting PUBREL', () => broker.storedBytes.kept === 10 * 'z/xp'.length);
  raw.send({ cmd: 'publish', topic: 'z/x', payload: Buffer.from('p'), qos: 2, messageId: 11, retain: false, dup: false });
  await raw.closed;
  await waitFor('released', () => broker.storedBytes.kept === 0);
  const other = await connect();
  const got = received(other);
  await other.subscribeAsync('ok', { qos: 1 });
  await publish(other, 'ok', 'still serving');
  await waitFor('served', () => got.length === 1);
});

it('a disconnected 3.1.1 client\'s session ends after the time sessions are kept, and beyond the number kept at once', async () => {
  await broker.close();
  await startBroker({ ...LIMITS, storedSessionMs: 300 });
  const sleeper = await connect({ clientId: 'brief', clean: false });
  await sleeper.subscribeAsync('e/#', { qos: 1 });
  await end(sleeper);
  await waitFor('session ended', () => /stored session of client anonymous \(id "brief"\) ended: disconnected for longer/.test(logs), 5000);
  const publisher = await connect();
  await publish(publisher, 'e/x', 'after');
  expect(broker.storedBytes.kept).toBe(0);
  const back = await connect({ clientId: 'brief', clean: false });
  expect(back.sessionPresent).toBe(false);

  await broker.close();
  await startBroker(LIMITS); // 2 sessions at most
  for (const id of ['a', 'b', 'c']) {
    const c = await connect({ clientId: id, clean: false });
    await c.subscribeAsync('e/#', { qos: 1 });
    await end(c);
  }
  expect(logs).toMatch(/id "c"\) ended: too many sessions are stored/);
  const present = [];
  for (const id of ['a', 'b', 'c']) present.push((await connect({ clientId: id, clean: false })).sessionPresent);
  expect(present).toEqual([true, true, false]);
});

it('a client holds at most its number of subscriptions, each filter at most its length', async () => {
  const client = await connect();
  expect(await subscribeCodes(client, { 's/1': { qos: 1 }, 's/2': { qos: 1 }, 's/3': { qos: 1 }, 's/4': { qos: 1 } })).toEqual([1, 1, 1, 128]);
  expect(await subscribeCodes(client, { 's/1': { qos: 0 } })).toEqual([0]); // one it holds may change
  await client.unsubscribeAsync('s/2');
  expect(await subscribeCodes(client, { 's/5': { qos: 0 } })).toEqual([0]); // and one it let go of frees a place
  const other = await connect();
  expect(await subscribeCodes(other, { [`long/${'x'.repeat(64)}`]: { qos: 0 } })).toEqual([128]);
});

it('a stored session keeps only the filters its client was allowed: nothing it may not read is queued for it while away', async () => {
  const sha = createHash('sha256').update('pw').digest('hex');
  broker.configure(new Map([['limited', { name: 'limited', passwordSha256: sha, publish: [], subscribe: ['open/#'] }]]));
  const limited = await connect({ clientId: 'limited-1', clean: false, username: 'limited', password: 'pw' });
  expect(await subscribeCodes(limited, { 'open/x': { qos: 1 }, 'secret/x': { qos: 1 } })).toEqual([1, 128]);
  await end(limited);
  const publisher = await connect();
  await publish(publisher, 'secret/x', 'not for it');
  await publish(publisher, 'open/x', 'for it');
  const back = await connect({ clientId: 'limited-1', clean: false, username: 'limited', password: 'pw' });
  const got = received(back);
  await waitFor('the allowed one', () => got.length >= 1);
  await new Promise((r) => setTimeout(r, 300));
  expect(got.map((m) => m.topic)).toEqual(['open/x']);
});

it('writes packet ids without mqtt-packet\'s cache of all 65,536 (6.6 MB of heap held for good)', async () => {
  const subscriber = await connect();
  const got = received(subscriber);
  await subscriber.subscribeAsync('ids/#', { qos: 1 });
  const publisher = await connect();
  for (let i = 0; i < 20; i++) await publish(publisher, `ids/${i}`, 'x');
  await waitFor('20 delivered with packet ids', () => got.length === 20);
  expect(packetIdsCached(['aedes'])).toBe(0);
});
