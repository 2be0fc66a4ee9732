import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WasmhostError } from '../errors.js';

/** The package's own folder (dist/devloop/ -> the package root): wit/, templates/, node_modules/. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WIT = join(PACKAGE_ROOT, 'wit');
/** WASI 0.2 packages as jco ships them (a development dependency: present in a checkout, not in the image). */
const WASI_BUILTIN = join(PACKAGE_ROOT, 'node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12');

/**
 * Worlds a guest may be built against beyond host.wit's `workload`. StarlingMonkey (componentize-js
 * 0.23) implements the http export at wasi:http 0.2.10 while importing the other WASI packages at
 * 0.2.12, so the http package is written under the version it exports; nothing else differs.
 */
export const GUEST_WORLDS: Record<string, string> = {
  workload: '',
  'http-workload': 'import telemetry;\n  import kv;\n  import config;\n  import log;\n  export wasi:http/incoming-handler@0.2.10;',
};

function copyPackage(from: string, to: string, rename: (text: string) => string = (t) => t): void {
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(from).filter((f) => f.endsWith('.wit'))) writeFileSync(join(to, file), rename(readFileSync(join(from, file), 'utf8')));
}

/**
 * Writes the WIT a guest builds against into `dir`: host.wit (plus `world <name> { body }` when the world
 * is not host.wit's own), the standard packages of wit/deps (wasi:config also under Spin's dated
 * version), and for a world that exports wasi:http the WASI 0.2 packages.
 */
export function writeGuestWit(dir: string, world: string, body = GUEST_WORLDS[world]): void {
  if (body === undefined) throw new WasmhostError('WH_ERR_CLI_USAGE', `unknown world ${JSON.stringify(world)} (one of ${Object.keys(GUEST_WORLDS).join(', ')})`);
  rmSync(dir, { recursive: true, force: true });
  const deps = join(WIT, 'deps');
  for (const pkg of readdirSync(deps).filter((p) => !p.endsWith('.md'))) copyPackage(join(deps, pkg), join(dir, 'deps', pkg));
  copyPackage(join(deps, 'wasi-config-0.2.0-draft'), join(dir, 'deps', 'wasi-config-spin'), (t) => t.replaceAll('wasi:config@0.2.0-draft', 'wasi:config@0.2.0-draft-2024-09-27'));
  if (body.includes('wasi:http/')) {
    let packages: string[];
    try {
      packages = readdirSync(WASI_BUILTIN);
    } catch {
      throw new WasmhostError('WH_ERR_BUILD_FAILED', `the WASI 0.2 WIT packages are not installed (${WASI_BUILTIN}): install wasmhost with its development dependencies`);
    }
    for (const pkg of packages) copyPackage(join(WASI_BUILTIN, pkg), join(dir, 'deps', pkg), (t) => (pkg === 'wasi-http' ? t.replace(/wasi:http(\/[a-z-]+)?@0\.2\.12/g, 'wasi:http$1@0.2.10') : t));
  }
  const host = readFileSync(join(WIT, 'host.wit'), 'utf8');
  writeFileSync(join(dir, 'host.wit'), body ? `${host}\nworld ${world} {\n  ${body}\n}\n` : host);
}

/** AIO's operator WIT, vendored unchanged (wit/aio/README.md). */
const OPERATOR_WIT = join(WIT, 'aio', 'wasm-graph-processor-1.1.0');

/**
 * Writes the WIT an Azure IoT Operations operator builds against into `dir`: the wasm-graph:processor
 * package plus `world <name>` importing the host interfaces and exporting `operators`. The package
 * names an interface `map`, a keyword of today's WIT parsers, so the copy spells it `%map` (the same
 * name: `%` only escapes it).
 */
export function writeOperatorWit(dir: string, world: string, operators: readonly string[]): void {
  rmSync(dir, { recursive: true, force: true });
  copyPackage(OPERATOR_WIT, dir, (text) => text.replace(/^interface map \{/m, 'interface %map {').replace(/export map;/g, 'export %map;'));
  const exports = operators.map((op) => `  export %${op};`).join('\n');
  writeFileSync(join(dir, 'zz-world.wit'), `world ${world} {\n  import state-store;\n  import logger;\n  import metrics;\n${exports}\n}\n`);
}
