import { WasmhostError } from '../errors.js';
import { sha256Hex as sha256 } from './capped.js';
import { expectOk, FetchError, readCapped, request } from './download.js';
import type { RegistryCredentials } from './registry-auth.js';
import { redact } from './source.js';

/** Layer media types that carry a wasm module or component (CNCF wasm artifact, wasm-to-oci, bytecodealliance). */
export const WASM_LAYER_TYPES: ReadonlySet<string> = new Set([
  'application/wasm',
  'application/vnd.wasm.content.layer.v1+wasm',
  'application/vnd.module.wasm.content.layer.v1+wasm',
  'application/vnd.bytecodealliance.wasm.component.layer.v0+wasm',
]);
/** Azure IoT Operations' data flow graph artifact: this config type, the graph's YAML as its layer. */
export const AIO_GRAPH_CONFIG = 'application/vnd.microsoft.aio.graph.v1+yaml';
const YAML_LAYER_TYPES: ReadonlySet<string> = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', AIO_GRAPH_CONFIG]);
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const WASM_CONFIG = 'application/vnd.wasm.config.v0+json';
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string };
}

export interface RegistryOptions {
  readonly credentials: RegistryCredentials | undefined;
  /** Plain http: always for loopback registries (as docker allows), otherwise only when allowed. */
  readonly allowHttp: boolean;
  readonly timeoutMs: number;
}

/**
 * A minimal OCI distribution (Docker Registry v2) client: manifests by tag or digest, blobs, uploads,
 * with anonymous, Basic and Bearer-token auth (the WWW-Authenticate challenge ACR and Docker Hub use).
 */
export class RegistryClient {
  readonly #base: string;
  readonly #tokens = new Map<string, string>();
  readonly #loopback: boolean;
  #authorization: string | undefined;

  constructor(private readonly registry: string, private readonly options: RegistryOptions) {
    this.#loopback = isLoopbackHost(registry.replace(/:\d+$/, ''));
    this.#base = `${this.#loopback || options.allowHttp ? 'http' : 'https'}://${registry}`;
  }

  /**
   * Where a Bearer challenge sends us for a token (with our credentials): only https on the registry's
   * own host, or, for a registry on loopback (tests, a local mirror), another loopback address.
   */
  #realm(realm: string): URL {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new FetchError(`${this.registry}: Bearer realm is not a URL`, false);
    }
    const ownHost = url.protocol === 'https:' && url.hostname === new URL(this.#base).hostname;
    if (!ownHost && !(this.#loopback && isLoopbackHost(url.hostname))) {
      throw new FetchError(`${this.registry}: token realm ${redact(realm)} refused: it must be https on ${new URL(this.#base).hostname}`, false);
    }
    return url;
  }

  /** The wasm layer of `repository:reference` (or an AIO graph artifact's YAML): its digest (hex) and size. */
  async resolveLayer(repository: string, reference: string): Promise<{ digest: string; size: number; mediaType: string }> {
    let manifest = await this.#manifest(repository, reference);
    if (manifest.mediaType === OCI_INDEX || Array.isArray(manifest.manifests)) {
      const entries = (manifest.manifests ?? []) as Descriptor[];
      const pick = entries.find((m) => /^wasi/.test(m.platform?.os ?? '')) ?? entries[0];
      if (!pick) throw new FetchError(`${repository}:${reference}: empty image index`, false);
      manifest = await this.#manifest(repository, pick.digest);
    }
    const layers = (manifest.layers ?? []) as Descriptor[];
    const isGraph = (manifest.config as Descriptor | undefined)?.mediaType === AIO_GRAPH_CONFIG || manifest.artifactType === AIO_GRAPH_CONFIG;
    const layer = layers.find((l) => WASM_LAYER_TYPES.has(l.mediaType) || (isGraph && YAML_LAYER_TYPES.has(l.mediaType)));
    if (!layer) {
      throw new FetchError(`${repository}:${reference} has no wasm layer (layer types: ${layers.map((l) => l.mediaType).join(', ') || 'none'})`, false);
    }
    if (!/^sha256:[0-9a-f]{64}$/.test(layer.digest)) throw new FetchError(`unsupported layer digest ${layer.digest}`, false);
    return { digest: layer.digest.slice('sha256:'.length), size: layer.size, mediaType: layer.mediaType };
  }

  /** Downloads a blob, refusing it if its bytes do not hash to `digest` (a registry that lies). */
  async blob(repository: string, digest: string, maxBytes: number): Promise<Uint8Array> {
    const response = await expectOk(await this.#send(repository, 'pull', `/v2/${repository}/blobs/sha256:${digest}`, {}), `blob sha256:${digest.slice(0, 12)}`);
    const got = await readCapped(response, maxBytes, `blob sha256:${digest.slice(0, 12)}`);
    if (got.digest !== digest) {
      throw new WasmhostError('WH_ERR_DIGEST_MISMATCH', `registry ${this.registry} sent bytes with sha256 ${got.digest} for blob ${digest}`);
    }
    return got.bytes;
  }

  /**
   * Publishes `bytes` as a CNCF wasm artifact (wasm config + one application/wasm layer), or as
   * `graph` an AIO graph artifact (its config type, the YAML as an application/yaml layer, as AIO's `oras push` makes it).
   */
  async push(repository: string, tag: string, bytes: Uint8Array, kind: 'wasm' | 'graph' = 'wasm'): Promise<{ manifestDigest: string; layerDigest: string }> {
    const config = kind === 'graph' ? Buffer.from('{}') : Buffer.from(JSON.stringify({ created: new Date().toISOString(), architecture: 'wasm', os: 'wasip2' }));
    const configType = kind === 'graph' ? AIO_GRAPH_CONFIG : WASM_CONFIG;
    const layerDigest = await this.#upload(repository, bytes);
    const configDigest = await this.#upload(repository, config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: configType,
      config: { mediaType: configType, digest: `sha256:${configDigest}`, size: config.length },
      layers: [{ mediaType: kind === 'graph' ? 'application/yaml' : 'application/wasm', digest: `sha256:${layerDigest}`, size: bytes.byteLength }],
    }));
    await expectOk(await this.#send(repository, 'pull,push', `/v2/${repository}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: manifest }), `manifest upload for ${repository}:${tag}`);
    return { manifestDigest: sha256(manifest), layerDigest };
  }

  async #upload(repository: string, bytes: Uint8Array): Promise<string> {
    const digest = sha256(bytes);
    const head = await this.#send(repository, 'pull,push', `/v2/${repository}/blobs/sha256:${digest}`, { method: 'HEAD' });
    if (head.ok) return digest;
    const start = await expectOk(await this.#send(repository, 'pull,push', `/v2/${repository}/blobs/uploads/`, { method: 'POST' }), 'upload start');
    const location = new URL(start.headers.get('location') ?? '', `${this.#base}/`);
    location.searchParams.set('digest', `sha256:${digest}`);
    await expectOk(
      await this.#send(repository, 'pull,push', location.pathname + location.search, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes }),
      'blob upload',
    );
    return digest;
  }

  async #manifest(repository: string, reference: string): Promise<Record<string, unknown>> {
    const response = await this.#send(repository, 'pull', `/v2/${repository}/manifests/${reference}`, {
      headers: { accept: [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST].join(', ') },
    });
    if (response.status === 404) {
      await response.body?.cancel();
      throw new FetchError(`${this.registry}/${repository}:${reference} not found`, false);
    }
    const { bytes, digest } = await readCapped(await expectOk(response, `manifest ${repository}:${reference}`), MAX_MANIFEST_BYTES, 'manifest');
    if (reference.startsWith('sha256:') && `sha256:${digest}` !== reference) {
      throw new WasmhostError('WH_ERR_DIGEST_MISMATCH', `registry ${this.registry} sent a manifest with digest sha256:${digest} for ${reference}`);
    }
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new FetchError(`manifest ${repository}:${reference} is not JSON`, false);
    }
  }

  /** Sends with the credentials this registry wants, answering one 401 challenge (Basic or Bearer). */
  async #send(repository: string, actions: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: Uint8Array }): Promise<Response> {
    const scope = `repository:${repository}:${actions}`;
    const attempt = () => {
      const auth = this.#tokens.get(scope) ?? this.#authorization;
      return request(`${this.#base}${path}`, { ...init, headers: { ...init.headers, ...(auth && { authorization: auth }) }, timeoutMs: this.options.timeoutMs, allowHttp: this.options.allowHttp });
    };
    const first = await attempt();
    if (first.status !== 401) return first;
    const challenge = first.headers.get('www-authenticate') ?? '';
    await first.body?.cancel();
    const creds = this.options.credentials;
    if (/^basic/i.test(challenge)) {
      if (!creds) throw new FetchError(`${this.registry} requires credentials (WASMHOST_REGISTRY_AUTH_FILE)`, false);
      if (creds.kind !== 'password') throw new FetchError(`${this.registry} asks for a user name and password; an identitytoken works only with a token server`, false);
      this.#authorization = basic(creds);
    } else if (/^bearer/i.test(challenge)) {
      this.#tokens.set(scope, `Bearer ${await this.#token(challenge, scope)}`);
    } else {
      throw new FetchError(`${this.registry} answered 401 with an unsupported challenge`, false);
    }
    const second = await attempt();
    if (second.status === 401) {
      await second.body?.cancel();
      throw new FetchError(`${this.registry} refused the credentials for ${repository}`, false);
    }
    return second;
  }

  async #token(challenge: string, scope: string): Promise<string> {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    if (!params.realm) throw new FetchError(`${this.registry}: Bearer challenge without realm`, false);
    const url = this.#realm(params.realm);
    const creds = this.options.credentials;
    let response: Response;
    if (creds?.kind === 'refresh-token') {
      // OAuth2 refresh token (the distribution token spec; what ACR's /oauth2/token takes for an Entra identity).
      const form = new URLSearchParams({ grant_type: 'refresh_token', service: params.service ?? this.registry, scope: params.scope ?? scope, refresh_token: creds.refreshToken, client_id: 'wasmhost' });
      response = await request(url.href, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()), timeoutMs: this.options.timeoutMs, allowHttp: this.options.allowHttp });
    } else {
      if (params.service) url.searchParams.set('service', params.service);
      url.searchParams.set('scope', params.scope ?? scope);
      response = await request(url.href, { headers: creds ? { authorization: basic(creds) } : {}, timeoutMs: this.options.timeoutMs, allowHttp: this.options.allowHttp });
    }
    await expectOk(response, `token from ${url.host}`);
    const body = JSON.parse(Buffer.from((await readCapped(response, 1024 * 1024, 'token')).bytes).toString('utf8')) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new FetchError(`token server ${url.host} returned no token`, false);
    return token;
  }
}


function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1';
}

function basic(creds: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}
