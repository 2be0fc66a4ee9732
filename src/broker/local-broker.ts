import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { topicMatches, writePacketIdsUncached, type GuestMessage } from '../base/index.js';
import type { Logger } from '../ops/index.js';
import type { BrokerClientSpec } from '../spec/index.js';
import { BoundedStore, STORE_LIMITS, type StoreLimits } from './bounded-store.js';
import { Pacer } from './pacer.js';
import { boundServer } from '../bounded-server.js';

/** Client identity for the log and metrics: its user name, or `anonymous`. */
const ANONYMOUS = 'anonymous';

export interface BrokerOptions {
  readonly log: Logger;
  /** Clients without credentials may connect, with every right (WASMHOST_MQTT_ALLOW_ANONYMOUS). */
  readonly allowAnonymous: boolean;
  /** Largest packet accepted (the payload cap: maxMessageBytes's default plus room for the header). */
  readonly maxPacketBytes: number;
  readonly maxClients: number;
  /** Publishes one client may make a second, and all clients together (WASMHOST_MQTT_CLIENT_RATE, WASMHOST_MQTT_TOTAL_RATE). */
  readonly clientRate: number;
  readonly totalRate: number;
  /** A client published on a local topic: deliver it to the subscribed workloads. */
  readonly toWorkloads: (topic: string, msg: GuestMessage) => void;
  readonly meter?: BrokerMeter;
  /** What clients can make the broker keep (STORE_LIMITS unless a test needs smaller). */
  readonly limits?: StoreLimits;
}

/** What the broker tells operations (metrics). */
export interface BrokerMeter {
  message(client: string, direction: 'in' | 'out'): void;
  dropped(client: string, reason: 'refused' | 'slow-subscriber' | 'too-large' | 'not-retained' | 'not-kept'): void;
}

export interface BrokerClientStatus {
  readonly name: string;
  readonly clientId: string;
  readonly connectedSince: string;
  readonly protocolVersion: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
}

interface Session {
  readonly name: string;
  readonly since: number;
  readonly pacer: Pacer;
  /** Whether its being held to the rate was logged (once a connection). */
  held: boolean;
  messagesIn: number;
  messagesOut: number;
}

/**
 * The device's pub/sub endpoint (design.md "Local message broker"): aedes (MQTT 3.1.1 and 5.0) over
 * TCP and WebSocket, whose topics are the workloads' local topics. Clients and their rights come
 * from the desired document (`broker.clients`: user name, sha256 of the password, publish and
 * subscribe filters); anonymous clients only when allowed. What a client publishes reaches the
 * subscribed workloads; what a workload (or the admin endpoint) publishes reaches subscribed clients.
 */
export class LocalBroker {
  readonly #aedes: Aedes;
  readonly #options: BrokerOptions;
  #clients: ReadonlyMap<string, BrokerClientSpec> = new Map();
  readonly #sessions = new WeakMap<Client, Session>();
  /** Filters each client was allowed (and has not unsubscribed), to bound how many it holds. */
  readonly #subscriptions = new WeakMap<Client, Set<string>>();
  readonly #connected = new Set<Client>();
  readonly #servers: Array<TcpServer | HttpServer> = [];
  #wss: WebSocketServer | undefined;
  readonly #allClients: Pacer;
  readonly #store: BoundedStore;
  readonly #limits: StoreLimits;
  /** Messages not kept for a client so far (logged at the first and every thousandth). */
  #notKept = 0;

  private constructor(aedes: Aedes, options: BrokerOptions, limits: StoreLimits) {
    this.#aedes = aedes;
    this.#options = options;
    this.#allClients = new Pacer(options.totalRate);
    this.#limits = limits;
    this.#store = new BoundedStore(aedes, this.#limits, {
      nameOf: (client) => this.#sessions.get(client)?.name ?? ANONYMOUS,
      notKept: (name, clientId) => {
        options.meter?.dropped(name, 'not-kept');
        if (this.#notKept++ % 1000 === 0) options.log.warn(`broker: a message was not kept for client ${name} (id ${JSON.stringify(clientId.slice(0, 64))}): it holds as many unacknowledged or queued messages as the broker keeps for one client (${this.#notKept} so far)`);
      },
      sessionEnded: (name, clientId, why) => options.log.info(`broker: the stored session of client ${name} (id ${JSON.stringify(clientId.slice(0, 64))}) ended: ${why === 'expired' ? 'disconnected for longer than sessions are kept' : 'too many sessions are stored'}`),
    });
    aedes.preConnect = (_client, _packet, done) => done(null, this.#connected.size < options.maxClients);
    aedes.authenticate = (client, username, password, done) => this.#authenticate(client, username, password, done);
    aedes.authorizePublish = (client, packet, done) => {
      const refused = this.#mayPublish(client, packet);
      if (!refused && client) this.#noteNotRetained(client, packet);
      const holdMs = client ? this.#holdMs(client) : 0; // refused publishes too: a flood of them costs the same
      if (holdMs > 0) setTimeout(() => done(refused), holdMs);
      else done(refused);
    };
    aedes.authorizeSubscribe = (client, sub, done) => {
      if (!this.#maySubscribe(client, sub.topic) || !this.#holds(client, sub.topic)) return done(null, null);
      this.#store.granted(sub);
      done(null, sub);
    };
    aedes.on('unsubscribe', (filters, client) => {
      const held = this.#subscriptions.get(client);
      for (const filter of filters) held?.delete(filter);
    });
    aedes.authorizeForward = (client, packet) => {
      const session = this.#sessions.get(client);
      if (session) {
        session.messagesOut++;
        options.meter?.message(session.name, 'out');
      }
      return packet;
    };
    aedes.on('client', (client) => this.#connected.add(client));
    aedes.on('clientDisconnect', (client) => this.#connected.delete(client));
    aedes.on('clientError', (client, err) => {
      if (/drain/i.test(err.message)) options.meter?.dropped(this.#sessions.get(client)?.name ?? ANONYMOUS, 'slow-subscriber');
      options.log.debug(`broker: client ${this.#sessions.get(client)?.name ?? '?'}: ${err.message}`);
    });
    aedes.on('connectionError', (_client, err) => options.log.debug(`broker: connection refused: ${err.message}`));
    aedes.on('publish', (packet, client) => {
      if (client && !packet.topic.startsWith('$')) this.#fromClient(packet, client);
    });
  }

  static async start(options: BrokerOptions): Promise<LocalBroker> {
    const limits = options.limits ?? STORE_LIMITS;
    writePacketIdsUncached(import.meta.url, ['aedes']);
    const aedes = await Aedes.createBroker({
      maximumPacketSize: options.maxPacketBytes,
      // A subscriber that stops reading is disconnected after drainTimeout; until then deliveries to the
      // others go on through the concurrency window (aedes: with one frozen client and N slots, the others
      // get N messages and then wait).
      drainTimeout: 5000,
      concurrency: 1000,
      connectTimeout: 10_000,
      // MQTT 5 sessions: as long and as many as the store keeps 3.1.1 ones.
      sessionExpiryIntervalLimit: limits.storedSessionMs / 1000,
      pendingSessionsLimit: limits.storedSessions,
      heartbeatInterval: 60_000,
      maxTopicLevels: 32,
    });
    return new LocalBroker(aedes, options, limits);
  }

  /** Listens for MQTT on `tcpPort` and MQTT over WebSocket (`/mqtt`) on `wsPort`; 0 leaves one off. A port in use is logged, not fatal. */
  async listen(tcpPort: number, wsPort: number, host: string): Promise<{ tcp?: number; ws?: number }> {
    const bound: { tcp?: number; ws?: number } = {};
    if (tcpPort) {
      const server = boundServer(createTcpServer((socket) => this.#aedes.handle(socket)), this.#maxSockets());
      bound.tcp = await this.#bind(server, tcpPort, host, 'MQTT');
    }
    if (wsPort) {
      const http = boundServer(createHttpServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket at /mqtt\n')), this.#maxSockets());
      bound.ws = await this.#bind(http, wsPort, host, 'MQTT over WebSocket');
      // Attached once the port is ours: ws re-emits its server's errors, and one with no listener would end the host.
      if (bound.ws !== undefined) {
        this.#wss = new WebSocketServer({ server: http, path: '/mqtt', maxPayload: this.#options.maxPacketBytes + 1024 });
        this.#wss.on('error', (err) => this.#options.log.warn(`broker: WebSocket: ${err.message}`));
        this.#wss.on('connection', (socket, request) => {
          socket.on('error', () => undefined); // a client's broken frame ends that client, logged by aedes
          this.#aedes.handle(createWebSocketStream(socket), request);
        });
      }
    }
    return bound;
  }

  /** Applies `broker.clients`: a client removed, or whose password or rights changed, is disconnected. */
  configure(clients: ReadonlyMap<string, BrokerClientSpec>): void {
    const before = this.#clients;
    this.#clients = clients;
    for (const client of this.#connected) {
      const session = this.#sessions.get(client);
      if (!session || session.name === ANONYMOUS) continue;
      const was = before.get(session.name);
      const now = clients.get(session.name);
      if (!now || JSON.stringify(now) !== JSON.stringify(was)) {
        this.#options.log.info(`broker: client ${session.name} disconnected: ${now ? 'its rights changed' : 'it was removed'}`);
        client.close();
      }
    }
  }

  /** A workload (or the admin endpoint) published on a local topic: to the subscribed clients. */
  publish(topic: string, msg: GuestMessage): void {
    const properties: PublishPacket['properties'] = {};
    if (msg.contentType) properties.contentType = msg.contentType;
    if (msg.properties.length) properties.userProperties = Object.fromEntries(msg.properties);
    const packet = { cmd: 'publish', topic, payload: Buffer.from(msg.body.buffer, msg.body.byteOffset, msg.body.byteLength), qos: 0, retain: false, dup: false, properties } as PublishPacket;
    this.#aedes.publish(packet, () => undefined); // aedes 1.x crashed without a callback (field notes)
  }

  list(): BrokerClientStatus[] {
    return [...this.#connected].flatMap((client) => {
      const session = this.#sessions.get(client);
      if (!session) return [];
      return [{ name: session.name, clientId: client.id, connectedSince: new Date(session.since).toISOString(), protocolVersion: client.version ?? 4, messagesIn: session.messagesIn, messagesOut: session.messagesOut }];
    });
  }

  get connectedClients(): number {
    return this.#connected.size;
  }

  /** Bytes kept for clients: retained messages, and messages queued or awaiting acknowledgement. */
  get storedBytes(): { readonly retained: number; readonly kept: number } {
    return this.#store.bytes;
  }

  async close(): Promise<void> {
    this.#store.close();
    this.#wss?.close();
    for (const server of this.#servers) (server as TcpServer).close();
    await new Promise<void>((resolve) => this.#aedes.close(() => resolve()));
  }

  /** Sockets one port holds: the clients, and as many again still connecting (each has connectTimeout to send CONNECT). */
  #maxSockets(): number {
    return this.#options.maxClients * 2;
  }

  async #bind(server: TcpServer | HttpServer, port: number, host: string, what: string): Promise<number | undefined> {
    try {
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
    } catch (err) {
      this.#options.log.warn(`broker: ${what} not started on ${host}:${port}: ${(err as Error).message}`);
      return undefined;
    }
    this.#servers.push(server);
    const bound = (server.address() as AddressInfo).port;
    this.#options.log.info(`broker: ${what} on ${host}:${bound}${what.includes('WebSocket') ? '/mqtt' : ''}`);
    return bound;
  }

  #authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void): void {
    const refuse = (code: number, why: string) => {
      this.#options.log.warn(`broker: connection refused (${why})`); // never the password
      done(Object.assign(new Error(why), { returnCode: code }), false);
    };
    if (username === undefined || username === '') {
      if (!this.#options.allowAnonymous) return refuse(5, 'anonymous clients are not allowed');
      this.#sessions.set(client, this.#session(ANONYMOUS));
      return done(null, true);
    }
    const spec = this.#clients.get(username);
    const given = createHash('sha256').update(password ?? Buffer.alloc(0)).digest();
    // Compared in constant time, and against a dummy for unknown names so timing tells nothing either.
    const expected = Buffer.from(spec?.passwordSha256 ?? '0'.repeat(64), 'hex');
    if (!timingSafeEqual(given, expected) || !spec) return refuse(4, `bad user name or password for ${JSON.stringify(username.slice(0, 64))}`);
    this.#sessions.set(client, this.#session(username));
    done(null, true);
  }

  #session(name: string): Session {
    return { name, since: Date.now(), pacer: new Pacer(this.#options.clientRate), held: false, messagesIn: 0, messagesOut: 0 };
  }

  /**
   * How long to hold a client's publish so that it keeps to its rate and all clients to theirs. aedes
   * reads a client's next packets only once these are handled: a client publishing faster waits on its
   * own TCP window, and what it sends is delivered, later. The host's main thread (edgeHub link,
   * workloads' messages, methods) is never given over to one flooding client.
   */
  #holdMs(client: Client): number {
    const session = this.#sessions.get(client);
    const now = performance.now();
    const holdMs = Math.max(session?.pacer.holdMs(now) ?? 0, this.#allClients.holdMs(now));
    if (holdMs > 0 && session && !session.held) {
      session.held = true;
      this.#options.log.info(`broker: client ${session.name} publishes faster than ${this.#options.clientRate} a second (or all clients together than ${this.#options.totalRate}): held to it`);
    }
    return holdMs;
  }

  /** null when the client may publish this packet, else why not (the error becomes a 0x87 PUBACK for MQTT 5). */
  #mayPublish(client: Client | null, packet: PublishPacket): Error | null {
    if (!client) return null;
    const session = this.#sessions.get(client);
    const name = session?.name ?? ANONYMOUS;
    const refuse = (why: string) => {
      this.#options.meter?.dropped(name, 'refused');
      this.#options.log.debug(`broker: publish by ${name} on ${packet.topic.slice(0, 128)} refused: ${why}`);
      return new Error('not authorized');
    };
    if (packet.topic.startsWith('$')) return refuse('topics starting with $ are the broker\'s own');
    if (name !== ANONYMOUS && !this.#clients.get(name)?.publish.some((filter) => topicMatches(filter, packet.topic))) return refuse('outside its publish rights');
    return null;
  }

  /** A retained publish the store will deliver but not keep is counted against its client. */
  #noteNotRetained(client: Client, packet: PublishPacket): void {
    if (!packet.retain || this.#store.retains(packet)) return;
    const name = this.#sessions.get(client)?.name ?? ANONYMOUS;
    this.#options.meter?.dropped(name, 'not-retained');
    this.#options.log.debug(`broker: retained publish by ${name} on ${packet.topic.slice(0, 128)} delivered but not kept: the broker keeps ${this.#limits.retainedTopics} retained topics, ${this.#limits.retainedBytes} bytes`);
  }

  /** Counts `filter` among the client's subscriptions, if it may hold one more (and one that long). */
  #holds(client: Client, filter: string): boolean {
    let held = this.#subscriptions.get(client);
    if (!held) this.#subscriptions.set(client, (held = new Set()));
    if (held.has(filter)) return true;
    if (held.size >= this.#limits.subscriptionsPerClient || Buffer.byteLength(filter) > this.#limits.filterBytes) {
      this.#options.log.debug(`broker: subscription of ${this.#sessions.get(client)?.name ?? ANONYMOUS} to ${filter.slice(0, 128)} refused: a client holds at most ${this.#limits.subscriptionsPerClient} subscriptions of up to ${this.#limits.filterBytes} bytes`);
      return false;
    }
    held.add(filter);
    return true;
  }

  #maySubscribe(client: Client, filter: string): boolean {
    const name = this.#sessions.get(client)?.name ?? ANONYMOUS;
    if (name === ANONYMOUS) return true;
    if (filter.startsWith('$')) return filter.startsWith('$SYS/'); // the broker's own topics: read-only, for anyone admitted
    // A requested filter is within a right when every topic it matches, the right matches too.
    const ok = this.#clients.get(name)?.subscribe.some((right) => covers(right, filter)) ?? false;
    if (!ok) this.#options.log.debug(`broker: subscription of ${name} to ${filter.slice(0, 128)} refused: outside its subscribe rights`);
    return ok;
  }

  #fromClient(packet: AedesPublishPacket, client: Client): void {
    const session = this.#sessions.get(client);
    if (session) {
      session.messagesIn++;
      this.#options.meter?.message(session.name, 'in');
    }
    const props = packet.properties ?? {};
    const user = Object.entries(props.userProperties ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, String(x)] as [string, string]) : [[k, String(v)] as [string, string]]));
    this.#options.toWorkloads(packet.topic, { body: new Uint8Array(packet.payload as Buffer), contentType: props.contentType, properties: user });
  }
}

/** Does right `right` allow everything `filter` can match? `+`/`#` in `filter` are matched as what they stand for. */
export function covers(right: string, filter: string): boolean {
  const r = right.split('/');
  const f = filter.split('/');
  for (let i = 0; i < f.length; i++) {
    if (r[i] === '#') return true;
    if (i >= r.length) return false;
    if (f[i] === '#') return false; // the filter reaches deeper than the right allows
    if (r[i] !== '+' && (f[i] === '+' || r[i] !== f[i])) return false;
  }
  return r.length === f.length;
}
