// Builds the sample and test guests into guest-modules/dist/. Cached: a guest is rebuilt only when its
// sources, the WIT or the tool versions change, so a second run takes well under a second.
// Run through `npm run build:guests` (it preloads scripts/preopen-root.mjs for the build tools).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GUEST_WORLDS, writeGuestWit, writeOperatorWit } from '../dist/devloop/guest-wit.js';
import { buildProject, bundleEntry, componentizeJs, readProject, writeProjectWit } from '../dist/devloop/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'guest-modules');
const out = join(src, 'dist');
const witDir = join(root, 'wit');
const witSource = readFileSync(join(witDir, 'host.wit'), 'utf8');
const hashFile = join(out, '.build-hashes.json');
const versions = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
// This script's own text counts too: a change in how guests are built rebuilds them.
const toolVersions = `${versions('@bytecodealliance/componentize-js')}|${versions('componentize-qjs')}|${versions('esbuild')}|${versions('@bytecodealliance/jco')}|${versions('typescript')}|${readFileSync(fileURLToPath(import.meta.url), 'utf8')}`;

mkdirSync(out, { recursive: true });
const hashes = existsSync(hashFile) ? JSON.parse(readFileSync(hashFile, 'utf8')) : {};
const only = process.argv.slice(2);
let built = 0;

async function guest(name, inputs, build) {
  if (only.length && !only.includes(name)) return;
  const hash = createHash('sha256').update(toolVersions).update(witSource);
  for (const input of inputs) hash.update(readFileSync(input));
  const digest = hash.digest('hex');
  const target = join(out, `${name}.wasm`);
  if (hashes[name] === digest && existsSync(target)) return;
  const started = Date.now();
  writeFileSync(target, await build());
  hashes[name] = digest;
  writeFileSync(hashFile, JSON.stringify(hashes, null, 2));
  built++;
  console.log(`built ${name}.wasm in ${Date.now() - started} ms`);
}

/** Test guests' own worlds (standard interfaces only, and edge:host/kv to show both reach one store). */
const PORTABLE_WORLDS = {
  'portable-http': [
    'import wasi:keyvalue/store@0.2.0-draft;',
    'import wasi:keyvalue/atomics@0.2.0-draft;',
    'import wasi:config/store@0.2.0-draft-2024-09-27;',
    'import wasi:logging/logging@0.1.0-draft;',
    'export wasi:http/incoming-handler@0.2.10;',
  ].join('\n  '),
  'portable-handler': 'import wasi:keyvalue/store@0.2.0-draft;\n  import wasi:keyvalue/atomics@0.2.0-draft;\n  import wasi:keyvalue/batch@0.2.0-draft;\n  import kv;\n  export handler;',
};

// The samples are projects of the developer loop (package.json, src/, tests/): built as `wasmhost build`
// builds them (wit/ and the declarations made anew, type-checked, bundled, QuickJS), then copied here.
for (const name of ['temperature-sensor', 'threshold-filter']) {
  const dir = join(src, name);
  const inputs = ['package.json', 'tsconfig.json', ...readdirSync(join(dir, 'src')).map((f) => join('src', f))].map((f) => join(dir, f));
  await guest(name, inputs, async () => {
    const project = readProject(dir);
    writeProjectWit(project);
    return readFileSync((await buildProject(project)).output);
  });
}

// Other TypeScript guests: bundled, then the repository's own engine choice (src/devloop/js-engines.ts):
// QuickJS for handlers (smaller, faster: BENCHMARKS.md), SpiderMonkey where a guest needs its web
// platform (the http ones' fetch event) or its 64-bit integers as bigint (the portable ones, written
// for wasmCloud and Spin). `-sm` builds the sensor with SpiderMonkey too, so the host is tested with both.
const TS_GUESTS = [
  ['temperature-sensor', 'workload', 'spidermonkey', 'temperature-sensor-sm'],
  ['temperature-handler', 'workload', 'quickjs'],
  ['temperature-handler', 'workload', 'spidermonkey', 'temperature-handler-sm'],
  ['http-echo', 'http-workload', 'spidermonkey'],
  ['portable-http', 'portable-http', 'spidermonkey'],
  ['portable-handler', 'portable-handler', 'spidermonkey'],
];
/** A guest's entry: src/index.ts in a project of the developer loop, else index.ts. */
const entryOf = (name) => (existsSync(join(src, name, 'src', 'index.ts')) ? join(src, name, 'src', 'index.ts') : join(src, name, 'index.ts'));
for (const [name, world, engine, output = name] of TS_GUESTS) {
  const entry = entryOf(name);
  await guest(output, [entry], async () => {
    const js = await bundleEntry(entry, [root], root);
    const body = PORTABLE_WORLDS[world] ?? GUEST_WORLDS[world];
    const own = world !== 'workload';
    const witPath = join(out, `.${output}-wit`);
    if (own) writeGuestWit(witPath, world, body);
    try {
      return await componentizeJs(engine, { js, witPath: own ? witPath : witDir, world, http: body.includes('wasi:http/'), scratchDir: out, toolRoots: [root] });
    } finally {
      if (own) rmSync(witPath, { recursive: true, force: true });
    }
  });
}

// Azure IoT Operations operators (wasm-graph:processor@1.1.0), each against a world exporting its operators.
const OPERATOR_GUESTS = { 'graph-temperature': ['map', 'filter', 'branch', 'accumulate'], 'graph-window': ['delay'] };
const operatorDir = join(witDir, 'aio', 'wasm-graph-processor-1.1.0');
const operatorWit = readdirSync(operatorDir).map((f) => join(operatorDir, f));
for (const [name, operators] of Object.entries(OPERATOR_GUESTS)) {
  const entry = join(src, name, 'index.ts');
  await guest(name, [entry, ...operatorWit], async () => {
    const js = await bundleEntry(entry, [root], root);
    const witPath = join(out, `.${name}-wit`);
    writeOperatorWit(witPath, name, operators);
    try {
      return await componentizeJs('quickjs', { js, witPath, world: name, http: false, scratchDir: out, toolRoots: [root] });
    } finally {
      rmSync(witPath, { recursive: true, force: true });
    }
  });
}

/** A whole WAT module embedded against the world `writeWit(dir)` writes into a temporary folder. */
async function watGuest(name, file, inputs, world, writeWit) {
  await guest(name, [file, ...inputs], async () => {
    const { parse, componentEmbed, componentNew } = await import('@bytecodealliance/jco');
    const witPath = join(out, `.${name}-wit`);
    writeWit(witPath);
    try {
      return componentNew(await componentEmbed({ binary: await parse(readFileSync(file, 'utf8')), witPath, world }), []);
    } finally {
      rmSync(witPath, { recursive: true, force: true });
    }
  });
}

// A hostile operator in WAT (trap, loop, grow, err: see its comment), against a world exporting map.
await watGuest('bad-map', join(src, 'wat-operators', 'bad-map.wat'), operatorWit, 'bad-map', (dir) => writeOperatorWit(dir, 'bad-map', ['map']));
// A small http guest in WAT exporting wasi:http/incoming-handler itself (instances reused across requests).
await watGuest('http-hello', join(src, 'wat-http', 'http-hello.wat'), [], 'http-workload', (dir) => writeGuestWit(dir, 'http-workload'));

// WAT test guests: prelude + handler bodies, embedded with the WIT plus the WASI interfaces they import.
// Only the parts a guest uses are declared: jco generates its glue from the component's own types.
const EXTRA_WIT = {
  // A hostile import: an instance named like a property every JS object inherits.
  'constructor': {
    imports: ['%constructor: interface { get-own-property-names: func(); }'],
    wit: '',
  },
  'wasi:cli/exit': {
    imports: ['wasi:cli/exit@0.2.0'],
    wit: 'package wasi:cli@0.2.0 { interface exit { exit: func(status: result); } }',
  },
  'wasi:cli/environment': {
    imports: ['wasi:cli/environment@0.2.0'],
    wit: 'package wasi:cli@0.2.0 { interface environment { initial-cwd: func() -> option<string>; } }',
  },
  'wasi:http/': {
    imports: ['wasi:http/types@0.2.0', 'wasi:http/outgoing-handler@0.2.0'],
    wit: `package wasi:http@0.2.0 {
  interface types {
    resource fields { constructor(); }
    variant scheme { HTTP, HTTPS, other(string) }
    resource outgoing-request {
      constructor(headers: fields);
      set-authority: func(authority: option<string>) -> result;
      set-scheme: func(scheme: option<scheme>) -> result;
      set-path-with-query: func(path-with-query: option<string>) -> result;
    }
    resource request-options;
    resource future-incoming-response;
    record DNS-error-payload {
      rcode: option<string>,
      info-code: option<u16>
    }
    record TLS-alert-received-payload {
      alert-id: option<u8>,
      alert-message: option<string>
    }
    record field-size-payload {
      field-name: option<string>,
      field-size: option<u32>
    }
    variant error-code {
      DNS-timeout,
      DNS-error(DNS-error-payload),
      destination-not-found,
      destination-unavailable,
      destination-IP-prohibited,
      destination-IP-unroutable,
      connection-refused,
      connection-terminated,
      connection-timeout,
      connection-read-timeout,
      connection-write-timeout,
      connection-limit-reached,
      TLS-protocol-error,
      TLS-certificate-error,
      TLS-alert-received(TLS-alert-received-payload),
      HTTP-request-denied,
      HTTP-request-length-required,
      HTTP-request-body-size(option<u64>),
      HTTP-request-method-invalid,
      HTTP-request-URI-invalid,
      HTTP-request-URI-too-long,
      HTTP-request-header-section-size(option<u32>),
      HTTP-request-header-size(option<field-size-payload>),
      HTTP-request-trailer-section-size(option<u32>),
      HTTP-request-trailer-size(field-size-payload),
      HTTP-response-incomplete,
      HTTP-response-header-section-size(option<u32>),
      HTTP-response-header-size(field-size-payload),
      HTTP-response-body-size(option<u64>),
      HTTP-response-trailer-section-size(option<u32>),
      HTTP-response-trailer-size(field-size-payload),
      HTTP-response-transfer-coding(option<string>),
      HTTP-response-content-coding(option<string>),
      HTTP-response-timeout,
      HTTP-upgrade-failed,
      HTTP-protocol-error,
      loop-detected,
      configuration-error,
      internal-error(option<string>)
    }
  }
  interface outgoing-handler {
    use types.{outgoing-request, request-options, future-incoming-response, error-code};
    handle: func(request: outgoing-request, options: option<request-options>) -> result<future-incoming-response, error-code>;
  }
}`,
  },
};
const prelude = readFileSync(join(src, 'wat', 'prelude.wat'), 'utf8');
for (const file of readdirSync(join(src, 'wat')).filter((f) => f.endsWith('.wat') && f !== 'prelude.wat')) {
  const path = join(src, 'wat', file);
  await guest(basename(file, '.wat'), [path, join(src, 'wat', 'prelude.wat')], async () => {
    const { parse, componentEmbed, componentNew } = await import('@bytecodealliance/jco');
    const body = readFileSync(path, 'utf8');
    const imports = body.split('\n').filter((l) => l.startsWith('(import'));
    const rest = body.split('\n').filter((l) => !l.startsWith('(import'));
    // A guest that defines its own on-message or on-method replaces the prelude's.
    const ownPrelude = ['on-message', 'on-method'].reduce((text, fn) => (body.includes(`#${fn}"`) ? text.replace(new RegExp(` *;; <${fn}>[\\s\\S]*?;; </${fn}>\\n`), '') : text), prelude);
    const [firstImport, ...preludeRest] = ownPrelude.trimStart().split('\n');
    const wat = `(module\n${firstImport}\n${imports.join('\n')}\n${preludeRest.join('\n')}\n${rest.join('\n')}\n)`;
    let wit = witSource;
    for (const [prefix, extra] of Object.entries(EXTRA_WIT)) {
      if (!imports.some((l) => l.includes(`"${prefix}`))) continue;
      wit = wit.replace('world workload {', `world workload {\n${extra.imports.map((i) => `  import ${i}${i.endsWith('}') ? '' : ';'}`).join('\n')}`) + `\n${extra.wit}\n`;
    }
    const embedded = await componentEmbed({ binary: await parse(wat), witSource: wit, world: 'workload' });
    return componentNew(embedded, []);
  });
}

// C guests: WASI preview1 command modules (Debian clang-14 + wasi-libc); the host adapts them at pull time.
for (const file of readdirSync(join(src, 'c')).filter((f) => f.endsWith('.c'))) {
  const path = join(src, 'c', file);
  await guest(basename(file, '.c'), [path], async () => {
    const target = join(out, `.${basename(file, '.c')}.wasm`);
    try {
      execFileSync('clang-14', ['--target=wasm32-wasi', '--sysroot=/usr', '-O2', '-o', target, path], { stdio: 'inherit' });
    } catch (err) {
      throw new Error(`clang-14 for wasm32-wasi is needed for ${file} (apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32): ${err.message}`);
    }
    const bytes = readFileSync(target);
    rmSync(target);
    return bytes;
  });
}

console.log(built ? `guests: ${built} built` : 'guests: up to date');
