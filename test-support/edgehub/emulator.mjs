// edgeHub emulator: an MQTT broker (aedes) over TLS that speaks IoT Hub's module protocol (twin GET and
// PATCH, desired-property notifications, direct methods, outputs, inputs) and checks SAS tokens, plus a
// fake workload API, so the real azure-iot-device client and ModuleClient.fromEnvironment run against
// it unchanged. For tests (in-process API below) and people (`npm run dev:edge`).
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import memoryPersistence from 'aedes-persistence';
import { makeCertificates } from './certs.mjs';
import { startWorkloadApi } from './workload-api.mjs';

const METHOD_TIMEOUT_MS = 30_000;

/** IoT Hub's merge: objects merge key by key, null deletes, anything else replaces. */
function merge(target, patch) {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete target[key];
    else if (typeof value === 'object' && !Array.isArray(value) && typeof target[key] === 'object' && target[key] !== null && !Array.isArray(target[key])) merge(target[key], value);
    else target[key] = structuredClone(value);
  }
  return target;
}

export class EdgeHubEmulator {
  deviceId = 'edge-device-1';
  moduleId = 'wasmhost';
  hubName = 'wasmhost-test.azure-devices.net';
  generationId = 'gen-1';
  /** Every message the module sent to an output, in arrival order. */
  outputs = [];
  /** Reported property patches as they arrived. */
  reportedPatches = [];
  connects = 0;
  rejectedConnects = 0;
  /** Twin GET requests answered so far. */
  twinGets = 0;
  /** Holds each twin GET response this long (the document is the one at the time of the request). */
  twinGetDelayMs = 0;
  /** Twin GETs still to refuse with status 500 (an edgeHub that cannot read its store for a while). */
  failTwinGets = 0;
  /** False: reported patches are taken but never answered (an edgeHub gone quiet mid-update). */
  answerReported = true;
  /** Reported patches taken and left unanswered. */
  unansweredReported = 0;
  /** @type {Record<string, any>} */
  #desired = { $version: 1 };
  /** @type {Record<string, any>} */
  #reported = { $version: 1 };
  #moduleKey = randomBytes(32);
  #pendingMethods = new Map();
  #dir;
  #certs;
  #aedes;
  #server;
  #workloadApi;
  #port = 0;
  #listeners = new Set();
  #ownsDir = true;
  /** Sessions (the SDK connects with clean=false) outlive a restart, as edgeHub keeps them in its store. */
  #sessions = memoryPersistence();

  /** @param {{ port?: number, dir?: string }} [options] dir: where the workload API socket lives (kept by close) */
  static async start(options = {}) {
    const emulator = new EdgeHubEmulator();
    emulator.#dir = options.dir ?? mkdtempSync(join(tmpdir(), 'edgehub-'));
    emulator.#ownsDir = !options.dir;
    emulator.#certs = makeCertificates();
    emulator.#workloadApi = await startWorkloadApi({
      socketPath: join(emulator.#dir, 'workload.sock'), caPem: emulator.#certs.caPem,
      moduleId: emulator.moduleId, generationId: emulator.generationId, moduleKey: emulator.#moduleKey,
    });
    await emulator.listen(options.port ?? 0);
    return emulator;
  }

  get port() {
    return this.#port;
  }

  /** The environment IoT Edge gives a module: all the module needs to find and trust this edgeHub. */
  env() {
    return {
      IOTEDGE_WORKLOADURI: `unix://${join(this.#dir, 'workload.sock')}`,
      IOTEDGE_DEVICEID: this.deviceId,
      IOTEDGE_MODULEID: this.moduleId,
      IOTEDGE_IOTHUBHOSTNAME: this.hubName,
      IOTEDGE_GATEWAYHOSTNAME: `127.0.0.1:${this.#port}`,
      IOTEDGE_AUTHSCHEME: 'sasToken',
      IOTEDGE_MODULEGENERATIONID: this.generationId,
      IOTEDGE_APIVERSION: '2018-06-28',
    };
  }

  /**
   * Starts (or restarts, after stop) the broker on `port`. Twin state is kept across restarts, and so
   * are MQTT sessions unless `keepSessions` is false (an edgeHub that lost its store).
   */
  async listen(port = this.#port, { keepSessions = true } = {}) {
    if (!keepSessions) this.#sessions = memoryPersistence();
    const aedes = await Aedes.createBroker({ heartbeatInterval: 3_600_000, persistence: this.#sessions });
    aedes.authenticate = (client, username, password, done) => {
      const ok = this.#authenticate(client.id, username, password?.toString());
      if (!ok) this.rejectedConnects++;
      done(ok ? null : Object.assign(new Error('not authorized'), { returnCode: 5 }), ok);
    };
    aedes.on('client', () => this.connects++);
    // Outputs are recorded before the PUBACK goes out, as edgeHub stores a message before acknowledging it.
    aedes.authorizePublish = (client, packet, done) => {
      if (client && packet.topic.startsWith(this.#eventsPrefix)) this.#recordOutput(packet);
      done(null);
    };
    aedes.on('publish', (packet, client) => {
      if (client) this.#onPublish(packet).catch((err) => console.error('edgeHub emulator:', err));
    });
    const server = createServer({ key: this.#certs.keyPem, cert: this.#certs.certPem }, aedes.handle);
    await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    this.#aedes = aedes;
    this.#server = server;
    this.#port = server.address().port;
  }

  /** Drops every connection and stops listening, as edgeHub does when it restarts. */
  async stop() {
    const aedes = this.#aedes;
    const server = this.#server;
    this.#aedes = undefined;
    this.#server = undefined;
    if (!server) return;
    await new Promise((r) => aedes.close(r));
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
  }

  async close() {
    await this.stop();
    await this.#workloadApi.close();
    if (this.#ownsDir) rmSync(this.#dir, { recursive: true, force: true });
  }

  get desired() {
    return structuredClone(this.#desired);
  }

  get reported() {
    return structuredClone(this.#reported);
  }

  /** Replaces the desired properties, as a deployment does; connected modules get the difference as a patch. */
  async setDesired(doc) {
    const patch = structuredClone(doc);
    for (const key of Object.keys(this.#desired)) if (!(key in doc) && !key.startsWith('$')) patch[key] = null;
    if (doc.workloads && this.#desired.workloads) {
      for (const name of Object.keys(this.#desired.workloads)) if (!(name in doc.workloads)) patch.workloads[name] = null;
    }
    return this.patchDesired(patch);
  }

  /**
   * Merges a desired patch (null deletes) and notifies the module, as IoT Hub does; with `announce`
   * false the module never hears of it (a notification lost on the way).
   */
  async patchDesired(patch, { announce = true } = {}) {
    merge(this.#desired, patch);
    this.#desired.$version++;
    if (this.#aedes && announce) await this.#publish(`$iothub/twin/PATCH/properties/desired/?$version=${this.#desired.$version}`, { ...patch, $version: this.#desired.$version });
    return this.#desired.$version;
  }

  /** Calls a direct method on the module; resolves with `{ status, payload }`. */
  async invokeMethod(name, payload, timeoutMs = METHOD_TIMEOUT_MS) {
    const rid = randomUUID().slice(0, 8);
    const result = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pendingMethods.delete(rid);
        reject(new Error(`method ${name} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pendingMethods.set(rid, (status, body) => {
        clearTimeout(timer);
        resolve({ status, payload: body.length ? JSON.parse(body) : null });
      });
    });
    await this.#publish(`$iothub/methods/POST/${name}/?$rid=${rid}`, JSON.stringify(payload ?? null)); // IoT Hub sends null for no payload
    return result;
  }

  /** Sends a message to one of the module's inputs, as an edgeHub route would. */
  async sendInput(input, body, properties = {}) {
    const props = new URLSearchParams({ '$.mid': randomUUID(), ...properties }).toString();
    await this.#publish(`devices/${this.deviceId}/modules/${this.moduleId}/inputs/${input}/${props}`, body, 1);
  }

  /** Calls `fn` on every output message from now on; returns an unsubscribe function. */
  onOutput(fn) {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #authenticate(clientId, username, password) {
    if (clientId !== `${this.deviceId}/${this.moduleId}`) return false;
    if (!username?.startsWith(`${this.hubName}/${this.deviceId}/${this.moduleId}/`)) return false;
    const match = /^SharedAccessSignature (.+)$/.exec(password ?? '');
    if (!match) return false;
    const fields = Object.fromEntries(match[1].split('&').map((kv) => kv.split('=')).map(([k, ...v]) => [k, v.join('=')]));
    const expected = `${this.hubName}/devices/${this.deviceId}/modules/${this.moduleId}`;
    if (decodeURIComponent(fields.sr ?? '') !== expected || Number(fields.se) * 1000 < Date.now()) return false;
    const sig = createHmac('sha256', this.#moduleKey).update(`${fields.sr}\n${fields.se}`).digest('base64');
    return decodeURIComponent(fields.sig ?? '') === sig;
  }

  async #onPublish(packet) {
    const topic = packet.topic;
    const body = packet.payload.toString();
    const rid = /\$rid=([^&]+)/.exec(topic)?.[1];
    if (topic.startsWith('$iothub/twin/GET/')) {
      const { $version: dv, ...desired } = structuredClone(this.#desired);
      const { $version: rv, ...reported } = structuredClone(this.#reported);
      this.twinGets++;
      if (this.failTwinGets > 0) {
        this.failTwinGets--;
        return void (await this.#publish(`$iothub/twin/res/500/?$rid=${rid}`, ''));
      }
      if (this.twinGetDelayMs) await new Promise((r) => setTimeout(r, this.twinGetDelayMs));
      await this.#publish(`$iothub/twin/res/200/?$rid=${rid}`, { desired: { ...desired, $version: dv }, reported: { ...reported, $version: rv } });
    } else if (topic.startsWith('$iothub/twin/PATCH/properties/reported/')) {
      const patch = JSON.parse(body);
      if (!this.answerReported) return void this.unansweredReported++;
      this.reportedPatches.push(patch);
      merge(this.#reported, patch);
      this.#reported.$version++;
      await this.#publish(`$iothub/twin/res/204/?$rid=${rid}&$version=${this.#reported.$version}`, '');
    } else if (topic.startsWith('$iothub/methods/res/')) {
      const status = Number(topic.split('/')[3]);
      this.#pendingMethods.get(rid)?.(status, body);
      this.#pendingMethods.delete(rid);
    }
  }

  get #eventsPrefix() {
    return `devices/${this.deviceId}/modules/${this.moduleId}/messages/events/`;
  }

  #recordOutput(packet) {
    const props = Object.fromEntries(new URLSearchParams(packet.topic.slice(this.#eventsPrefix.length).replace(/\/$/, '')));
    const { '$.on': output, '$.ct': contentType, '$.ce': contentEncoding, '$.mid': messageId, ...properties } = props;
    const message = { output, contentType, contentEncoding, messageId, properties, body: packet.payload };
    this.outputs.push(message);
    for (const fn of this.#listeners) fn(message);
  }

  #publish(topic, payload, qos = 0) {
    const aedes = this.#aedes;
    if (!aedes) return Promise.resolve();
    const buffer = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
    // aedes 1.2 crashes when publish has no callback (field notes)
    return new Promise((resolve) => aedes.publish({ topic, payload: buffer, qos, retain: false, cmd: 'publish', dup: false }, () => resolve()));
  }
}
