import type { EventEmitter } from 'node:events';
import iotCommon from 'azure-iot-common';
import iotDevice from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import type { Message as SdkMessage, ModuleClient as SdkModuleClient } from 'azure-iot-device';
import { writePacketIdsUncached } from '../base/index.js';

// The SDK is CommonJS: named imports type-check but fail at runtime under ESM (field notes).
const { ModuleClient, Message, DeviceMethodRequest, DeviceMethodResponse } = iotDevice;
const { NoRetry } = iotCommon;

export const TWIN_TIMEOUT_MS = 30_000;

export interface TwinDocument {
  desired: Record<string, unknown>;
  reported: Record<string, unknown>;
}

/** The MQTT transport emits `method_<name>` for every method request, listened to or not. */
type MethodTransport = EventEmitter;

/** The SDK's twin transport calls, which the public Twin object wraps with a cache we cannot use. */
interface TwinTransport {
  getTwin(done: (err?: Error, twin?: TwinDocument) => void): void;
  updateTwinReportedProperties(patch: unknown, done: (err?: Error) => void): void;
  enableTwinDesiredPropertiesUpdates(done: (err?: Error) => void): void;
  on(event: 'twinDesiredPropertiesUpdate', fn: (patch: Record<string, unknown>) => void): void;
}

export interface InboundMessage {
  readonly input: string;
  readonly body: Buffer;
  readonly contentType: string | undefined;
  readonly properties: Array<[string, string]>;
}

export type MethodReply = (status: number, payload: unknown) => void;

/**
 * The one place that touches azure-iot-device: a ModuleClient made by fromEnvironment(Mqtt), reduced
 * to what wasmhost needs, with timeouts on twin calls. One link per connection attempt; the
 * EdgeConnection replaces it when the SDK gives up.
 */
export class ModuleLink {
  readonly #client: SdkModuleClient;
  readonly #twin: TwinTransport;
  readonly #transport: MethodTransport;

  private constructor(client: SdkModuleClient) {
    this.#client = client;
    const transport = (client as unknown as { _transport?: Partial<TwinTransport & MethodTransport> })._transport;
    if (!transport?.getTwin || !transport.updateTwinReportedProperties || !transport.enableTwinDesiredPropertiesUpdates || !transport.emit) {
      throw new Error('azure-iot-device changed: its MQTT transport has no twin calls');
    }
    this.#twin = transport as TwinTransport;
    this.#transport = transport as MethodTransport;
  }

  /** Reads IOTEDGE_* (or EdgeHubConnectionString) and asks the workload API for the trust bundle. */
  static async fromEnvironment(): Promise<ModuleLink> {
    writePacketIdsUncached(import.meta.url, ['azure-iot-device-mqtt', 'azure-iot-mqtt-base', 'mqtt']);
    const client = await (ModuleClient.fromEnvironment(Mqtt) as Promise<SdkModuleClient>);
    // EdgeConnection alone decides when to connect again. SDK retries would keep a closed client
    // reconnecting in the background, and two clients with one identity kick each other off edgeHub.
    client.setRetryPolicy(new NoRetry());
    return new ModuleLink(client);
  }

  open(): Promise<unknown> {
    return this.#client.open();
  }

  async close(): Promise<void> {
    this.#client.removeAllListeners();
    this.#client.on('error', () => undefined); // late errors from a closing client must not crash us
    await this.#client.close().catch(() => undefined);
  }

  on(event: 'connect' | 'disconnect' | 'error', fn: (err?: Error) => void): void {
    this.#client.on(event, fn);
  }

  /** Subscribes to desired-property patches (call before reading the twin, so none is lost between). */
  enableDesiredPatches(onPatch: (patch: Record<string, unknown>) => void): Promise<void> {
    this.#twin.on('twinDesiredPropertiesUpdate', onPatch);
    return withTimeout('enable desired properties', TWIN_TIMEOUT_MS, new Promise((resolve, reject) => this.#twin.enableTwinDesiredPropertiesUpdates((err) => (err ? reject(err) : resolve()))));
  }

  getTwin(): Promise<TwinDocument> {
    return withTimeout('twin GET', TWIN_TIMEOUT_MS, new Promise((resolve, reject) => this.#twin.getTwin((err, twin) => (err || !twin ? reject(err ?? new Error('empty twin')) : resolve(twin)))));
  }

  updateReported(patch: Record<string, unknown>): Promise<void> {
    return withTimeout('reported properties update', TWIN_TIMEOUT_MS, new Promise((resolve, reject) => this.#twin.updateTwinReportedProperties(patch, (err) => (err ? reject(err) : resolve()))));
  }

  sendOutput(output: string, body: Buffer | string, options: { contentType?: string; contentEncoding?: 'utf-8'; messageId: string; properties: Array<[string, string]> }): Promise<unknown> {
    const message: SdkMessage = new Message(body);
    message.messageId = options.messageId;
    if (options.contentType) message.contentType = options.contentType as SdkMessage['contentType']; // typed too narrowly by the SDK
    if (options.contentEncoding) message.contentEncoding = options.contentEncoding;
    for (const [key, value] of options.properties) message.properties.add(key, value);
    return this.#client.sendOutputEvent(output, message);
  }

  /**
   * Direct methods: `names` are registered with the SDK; any other name gets `handler` too (through the
   * transport), so a caller who mistypes a method hears 404 at once instead of timing out, as the SDK
   * alone would leave it.
   */
  onMethods(names: readonly string[], handler: (name: string, payload: unknown, reply: MethodReply) => void): void {
    const answer = (name: string, request: { payload?: unknown } | undefined, response: { send(status: number, payload: unknown, done: () => void): void }) =>
      handler(name, request?.payload, (status, payload) => response.send(status, payload, () => undefined));
    for (const name of names) this.#client.onMethod(name, (request, response) => response && answer(name, request, response));
    const transport = this.#transport;
    const emit = transport.emit;
    transport.emit = function (this: MethodTransport, event: string | symbol, ...args: unknown[]): boolean {
      if (typeof event !== 'string' || !event.startsWith('method_') || this.listenerCount(event) > 0) return emit.call(this, event, ...args);
      const message = args[0] as { requestId: string; methods: { methodName: string }; body?: Buffer };
      const response = new DeviceMethodResponse(message.requestId, transport as unknown as ConstructorParameters<typeof DeviceMethodResponse>[1]);
      try {
        answer(message.methods.methodName, new DeviceMethodRequest(message.requestId, message.methods.methodName, message.body), response);
      } catch (err) {
        response.send(400, `Invalid request format: ${(err as Error).message}`, () => undefined); // as the SDK answers a bad body
      }
      return true;
    };
  }

  onInput(handler: (message: InboundMessage) => void): void {
    this.#client.on('inputMessage', (input: string, msg: SdkMessage) => {
      const properties = msg.properties.propertyList.map((p) => [p.key, p.value] as [string, string]);
      handler({ input, body: Buffer.isBuffer(msg.data) ? msg.data : Buffer.from(String(msg.data)), contentType: msg.contentType, properties });
      this.#client.complete(msg, () => undefined);
    });
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function withTimeout<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
