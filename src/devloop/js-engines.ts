import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WasmhostError } from '../errors.js';
import { resolveTool } from './resolve-tool.js';

/**
 * The JavaScript engines a JS/TS workload can be built with. `quickjs` (componentize-qjs): ~1.6 MB
 * components and cheap calls; `spidermonkey` (componentize-js, StarlingMonkey): ~12 MB, with web APIs
 * (fetch event for http guests, TextEncoder, URL...). BENCHMARKS.md "JavaScript engines" has the figures.
 */
export type JsEngine = 'quickjs' | 'spidermonkey';
export const JS_ENGINES: readonly JsEngine[] = ['quickjs', 'spidermonkey'];

export interface ComponentizeRequest {
  /** The guest as one ES module. */
  readonly js: string;
  readonly witPath: string;
  readonly world: string;
  /** Whether the world exports wasi:http (StarlingMonkey's fetch event serves it). */
  readonly http: boolean;
  /** Where to put a temporary copy of the source (componentize-js reads a file). */
  readonly scratchDir: string;
  /** Folders whose node_modules may hold the engine's package (the project's, wasmhost's). */
  readonly toolRoots: readonly string[];
}

/** The package that builds with each engine (its package.json versions the build). */
export const ENGINE_PACKAGES: Record<JsEngine, string> = { quickjs: 'componentize-qjs', spidermonkey: '@bytecodealliance/componentize-js' };

const fail = (message: string): never => {
  throw new WasmhostError('WH_ERR_BUILD_FAILED', message);
};

/** First lines of a tool's error: enough to act on, without its stack. */
const gist = (err: unknown) => String((err as Error).message ?? err).split('\n').filter(Boolean).slice(0, 3).join(' ');

/**
 * QuickJS has the language and nothing of the web platform; guests use TextEncoder/TextDecoder for
 * message bodies. UTF-8 only (what the host API's bodies and strings are).
 */
const QUICKJS_PRELUDE = `if (typeof globalThis.TextEncoder === 'undefined') {
  globalThis.TextEncoder = class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') {
      const out = [];
      for (const ch of String(input)) {
        const c = ch.codePointAt(0);
        if (c < 0x80) out.push(c);
        else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
        else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      }
      return new Uint8Array(out);
    }
  };
}
if (typeof globalThis.TextDecoder === 'undefined') {
  globalThis.TextDecoder = class TextDecoder {
    get encoding() { return 'utf-8'; }
    decode(input = new Uint8Array()) {
      const b = input instanceof Uint8Array ? input : new Uint8Array(input.buffer ?? input);
      let out = '';
      for (let i = 0; i < b.length;) {
        const x = b[i++];
        const c = x < 0x80 ? x
          : x < 0xe0 ? ((x & 31) << 6) | (b[i++] & 63)
          : x < 0xf0 ? ((x & 15) << 12) | ((b[i++] & 63) << 6) | (b[i++] & 63)
          : ((x & 7) << 18) | ((b[i++] & 63) << 12) | ((b[i++] & 63) << 6) | (b[i++] & 63);
        out += String.fromCodePoint(c);
      }
      return out;
    }
  };
}
`;

/** Builds a component from one JS module with `engine`. */
export async function componentizeJs(engine: JsEngine, request: ComponentizeRequest): Promise<Uint8Array> {
  return engine === 'quickjs' ? withQuickJs(request) : withSpiderMonkey(request);
}

async function withQuickJs(request: ComponentizeRequest): Promise<Uint8Array> {
  if (request.http) fail('an http workload is built with --engine spidermonkey: QuickJS has no fetch event to serve wasi:http with');
  const tool = resolveTool(request.toolRoots, ENGINE_PACKAGES.quickjs);
  const { componentize } = (await import(tool.url)) as { componentize(opts: { witPath: string; jsSource: string; world: string; sync: boolean }): Promise<{ component: Uint8Array }> };
  try {
    // sync: the component-model async ABI is not something jco's transpile runs.
    return (await componentize({ witPath: request.witPath, jsSource: QUICKJS_PRELUDE + request.js, world: request.world, sync: true })).component;
  } catch (err) {
    return fail(`componentize-qjs: ${gist(err)}`);
  }
}

async function withSpiderMonkey(request: ComponentizeRequest): Promise<Uint8Array> {
  const tool = resolveTool(request.toolRoots, ENGINE_PACKAGES.spidermonkey);
  // componentize-js reads the WIT through preview2-shim, which no longer preopens `/` (a build tool, never the host runtime).
  const shim = resolveTool([tool.dir], '@bytecodealliance/preview2-shim', 'filesystem');
  ((await import(shim.url)) as { _addPreopen(guest: string, host: string): void })._addPreopen('/', '/');
  const { componentize } = (await import(tool.url)) as typeof import('@bytecodealliance/componentize-js');
  const tmp = join(request.scratchDir, `.componentize-${process.pid}.js`);
  writeFileSync(tmp, request.js);
  try {
    const { component } = await componentize({ sourcePath: tmp, witPath: request.witPath, worldName: request.world, disableFeatures: request.http ? ['stdio'] : ['http', 'stdio'] });
    return component;
  } catch (err) {
    return fail(`componentize: ${gist(err)}`);
  } finally {
    rmSync(tmp, { force: true });
  }
}
