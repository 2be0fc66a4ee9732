import type { Aedes, Client } from 'aedes';

/**
 * What clients can make the broker keep in memory, and for how long. aedes's in-memory store keeps
 * every retained topic, every message queued for a stored session, every QoS 2 publish awaiting its
 * PUBREL and every MQTT 3.1.1 session without an end: one client rotating topics or client ids would
 * otherwise grow the host without bound.
 */
export interface StoreLimits {
  /** Retained messages: topics, and their payload and topic bytes together. */
  readonly retainedTopics: number;
  readonly retainedBytes: number;
  /** Messages kept for one client id (QoS 1 and 2 queued or in flight to it, QoS 2 from it awaiting PUBREL), by count and bytes. */
  readonly keptPerClient: number;
  readonly keptBytesPerClient: number;
  /** The same for all clients together. */
  readonly keptBytes: number;
  /** Sessions kept for disconnected clients, and how long one is kept. */
  readonly storedSessions: number;
  readonly storedSessionMs: number;
  /** Subscriptions one client holds, and the longest filter (in bytes). */
  readonly subscriptionsPerClient: number;
  readonly filterBytes: number;
}

export const STORE_LIMITS: StoreLimits = {
  retainedTopics: 1000,
  retainedBytes: 16 * 1024 * 1024,
  keptPerClient: 1000,
  keptBytesPerClient: 8 * 1024 * 1024,
  keptBytes: 64 * 1024 * 1024,
  storedSessions: 256,
  storedSessionMs: 3_600_000,
  subscriptionsPerClient: 100,
  filterBytes: 1024,
};

/** Who a client is (its user name), and what the store tells the broker when a bound holds something back. */
export interface StoreEvents {
  nameOf(client: Client): string;
  /** A message was not kept for a client: delivered to it only if it is connected, and lost if not. */
  notKept(name: string, clientId: string): void;
  /** A disconnected client's stored session ended: it expired, or too many were stored. */
  sessionEnded(name: string, clientId: string, why: 'expired' | 'too many'): void;
}

interface StoredPacket {
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly messageId?: number;
}

/** The calls of aedes's persistence (aedes-persistence's callback layer, used promise-style) this store bounds. */
interface Persistence {
  storeRetained(packet: StoredPacket): Promise<void>;
  outgoingEnqueue(sub: { clientId: string }, packet: StoredPacket): Promise<void>;
  outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: StoredPacket): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: StoredPacket): Promise<StoredPacket | undefined>;
  incomingStorePacket(client: { id: string }, packet: StoredPacket): Promise<void>;
  incomingDelPacket(client: { id: string }, packet: StoredPacket): Promise<void>;
  cleanSubscriptions(client: Client): Promise<unknown>;
  addSubscriptions(client: Client, subs: readonly object[]): Promise<void>;
}

/** What is kept for one client id. */
interface Kept {
  messages: number;
  bytes: number;
  /** QoS 2 publishes from it awaiting PUBREL: message id -> bytes. */
  readonly incoming: Map<number, number>;
}

const payloadBytes = (packet: StoredPacket) => Buffer.byteLength(packet.payload ?? '');
const sizeOf = (packet: StoredPacket) => payloadBytes(packet) + Buffer.byteLength(packet.topic ?? '');

/**
 * Wraps the store aedes made with the bounds above and ends the sessions of disconnected MQTT 3.1.1
 * clients after `storedSessionMs` (MQTT 5 sessions expire by aedes's own clamp).
 */
export class BoundedStore {
  readonly #inner: Persistence;
  readonly #limits: StoreLimits;
  readonly #events: StoreEvents;
  /** Retained topics kept, with their bytes. */
  readonly #retained = new Map<string, number>();
  #retainedBytes = 0;
  readonly #kept = new Map<string, Kept>();
  #keptBytes = 0;
  /** Names of the clients connected or with a stored session, by client id. */
  readonly #names = new Map<string, string>();
  readonly #online = new Set<string>();
  /** Disconnected 3.1.1 clients whose session is kept, until their timer ends it. */
  readonly #stored = new Map<string, NodeJS.Timeout>();
  /** Subscriptions the broker allowed: aedes stores every filter of a SUBSCRIBE packet, refused ones too. */
  readonly #granted = new WeakSet<object>();

  constructor(aedes: Aedes, limits: StoreLimits, events: StoreEvents) {
    const broker = aedes as unknown as { persistence: Persistence };
    this.#inner = broker.persistence;
    this.#limits = limits;
    this.#events = events;
    broker.persistence = this.#bounded(broker.persistence);
    aedes.on('client', (client) => {
      this.#online.add(client.id);
      this.#names.set(client.id, events.nameOf(client));
      clearTimeout(this.#stored.get(client.id));
      this.#stored.delete(client.id);
    });
    aedes.on('clientDisconnect', (client) => this.#disconnected(client));
    aedes.on('sessionExpired', (client) => this.#forget(client.id));
    aedes.on('sessionLimitReached', (client) => this.#forget(client.id));
  }

  /** `subscription` was allowed: a stored session may keep it. */
  granted(subscription: object): void {
    this.#granted.add(subscription);
  }

  /** Whether a retained publish is honoured: one without a payload always (it clears its topic), one with if it fits. */
  retains(packet: StoredPacket): boolean {
    return payloadBytes(packet) === 0 || this.#fits(this.#retained.get(packet.topic), sizeOf(packet));
  }

  /** Whether a retained message of `size` fits, in place of `before` (the size kept on its topic, if any). */
  #fits(before: number | undefined, size: number): boolean {
    const topicFits = before !== undefined || this.#retained.size < this.#limits.retainedTopics;
    return topicFits && this.#retainedBytes - (before ?? 0) + size <= this.#limits.retainedBytes;
  }

  /** Bytes kept now: retained messages, and messages kept for clients. */
  get bytes(): { retained: number; kept: number } {
    return { retained: this.#retainedBytes, kept: this.#keptBytes };
  }

  close(): void {
    for (const timer of this.#stored.values()) clearTimeout(timer);
    this.#stored.clear();
  }

  /** aedes's store, its other calls untouched (they run with the wrapper as `this`, which reaches the store's state). */
  #bounded(inner: Persistence): Persistence {
    const bounded: Partial<Persistence> = {
      storeRetained: (packet) => this.#storeRetained(packet),
      // A refused filter kept in a stored session would queue, while its client is away, what it may not read.
      addSubscriptions: (client, subs) => inner.addSubscriptions(client, subs.filter((sub) => this.#granted.has(sub))),
      outgoingEnqueue: (sub, packet) => (this.#admit(sub.clientId, packet) ? inner.outgoingEnqueue(sub, packet) : Promise.resolve()),
      outgoingEnqueueCombi: (subs, packet) => inner.outgoingEnqueueCombi(subs.filter((sub) => this.#admit(sub.clientId, packet)), packet),
      outgoingClearMessageId: async (client, packet) => {
        const cleared = await inner.outgoingClearMessageId(client, packet);
        if (cleared) this.#release(client.id, sizeOf(cleared));
        return cleared;
      },
      incomingStorePacket: (client, packet) => {
        const kept = this.#keptFor(client.id);
        if (packet.messageId === undefined || kept.incoming.has(packet.messageId)) return inner.incomingStorePacket(client, packet);
        if (!this.#admit(client.id, packet)) return Promise.reject(new Error(`too many QoS 2 messages await PUBREL (${kept.incoming.size}, ${kept.bytes} bytes kept for this client)`));
        kept.incoming.set(packet.messageId, sizeOf(packet));
        return inner.incomingStorePacket(client, packet);
      },
      incomingDelPacket: (client, packet) => {
        const incoming = this.#kept.get(client.id)?.incoming;
        const bytes = packet.messageId === undefined ? undefined : incoming?.get(packet.messageId);
        if (bytes !== undefined) {
          incoming!.delete(packet.messageId!);
          this.#release(client.id, bytes);
        }
        return inner.incomingDelPacket(client, packet);
      },
    };
    return Object.assign(Object.create(inner) as Persistence, bounded);
  }

  #storeRetained(packet: StoredPacket): Promise<void> {
    const before = this.#retained.get(packet.topic);
    const size = sizeOf(packet);
    if (payloadBytes(packet) > 0 && this.#fits(before, size)) {
      this.#retained.set(packet.topic, size);
      this.#retainedBytes += size - (before ?? 0);
      return this.#inner.storeRetained(packet);
    }
    if (before === undefined) return Promise.resolve();
    // Cleared, or replaced by one not kept: an older message on the topic must not be what new subscribers get.
    this.#retained.delete(packet.topic);
    this.#retainedBytes -= before;
    return this.#inner.storeRetained({ ...packet, payload: Buffer.alloc(0) });
  }

  #keptFor(clientId: string): Kept {
    let kept = this.#kept.get(clientId);
    if (!kept) this.#kept.set(clientId, (kept = { messages: 0, bytes: 0, incoming: new Map() }));
    return kept;
  }

  /** Counts `packet` as kept for `clientId` if the bounds allow it. */
  #admit(clientId: string, packet: StoredPacket): boolean {
    const size = sizeOf(packet);
    const kept = this.#keptFor(clientId);
    const limits = this.#limits;
    if (kept.messages >= limits.keptPerClient || kept.bytes + size > limits.keptBytesPerClient || this.#keptBytes + size > limits.keptBytes) {
      if (kept.messages === 0) this.#kept.delete(clientId);
      this.#events.notKept(this.#names.get(clientId) ?? '?', clientId);
      return false;
    }
    kept.messages++;
    kept.bytes += size;
    this.#keptBytes += size;
    return true;
  }

  #release(clientId: string, bytes: number): void {
    const kept = this.#kept.get(clientId);
    if (!kept) return;
    kept.messages--;
    kept.bytes -= bytes;
    this.#keptBytes -= bytes;
    if (kept.messages <= 0) this.#kept.delete(clientId);
  }

  #disconnected(client: Client): void {
    this.#online.delete(client.id);
    const sessionKept = client.version === 5 ? client.sessionExpiryInterval > 0 : !client.clean;
    if (!sessionKept) return this.#forget(client.id);
    if (client.version === 5) return; // aedes ends it at its (clamped) expiry, and counts it
    if (this.#stored.size >= this.#limits.storedSessions) return void this.#endSession(client, 'too many');
    const timer = setTimeout(() => this.#endSession(client, 'expired'), this.#limits.storedSessionMs);
    timer.unref();
    this.#stored.set(client.id, timer);
  }

  /** Ends a disconnected client's stored session: its subscriptions, queued messages and pending QoS 2. */
  #endSession(client: Client, why: 'expired' | 'too many'): void {
    clearTimeout(this.#stored.get(client.id));
    this.#stored.delete(client.id);
    if (this.#online.has(client.id)) return; // it came back: the session is its again
    void this.#inner.cleanSubscriptions(client).catch(() => undefined);
    client.emptyOutgoingQueue(() => undefined);
    this.#events.sessionEnded(this.#names.get(client.id) ?? '?', client.id, why);
    this.#forget(client.id);
  }

  /** A client's session is over: its name and its QoS 2 publishes still awaiting PUBREL go. */
  #forget(clientId: string): void {
    if (!this.#online.has(clientId)) this.#names.delete(clientId);
    const kept = this.#kept.get(clientId);
    if (!kept) return;
    for (const [messageId, bytes] of [...kept.incoming]) {
      kept.incoming.delete(messageId);
      this.#release(clientId, bytes);
      void this.#inner.incomingDelPacket({ id: clientId }, { topic: '', payload: '', messageId }).catch(() => undefined);
    }
  }
}
