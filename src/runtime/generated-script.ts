import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Script } from 'node:vm';

/**
 * A component's generated code, kept as a script rather than the ES module jco writes: a worker loads
 * it with V8's code cache, where a module went through Node's ES module loader and a full parse of its
 * 100-200 KB in every worker that starts (Node 20 has no code cache for modules). jco's sync
 * instantiation output imports nothing and exports `instantiate` (and an empty `_util`); the script is
 * that code in a function that returns its exports.
 */

/** `export function f(` / `export const c=`: the only exports jco's output has. */
const EXPORT = /(^|[;}])export (function|const) ([A-Za-z_$][\w$]*)/g;

/**
 * The script form of jco's generated module. Throws if what is left is not a script (an import, an
 * export of another form, import.meta): a newer jco whose output this does not know must fail its
 * compile loudly, not load half-converted.
 */
export function toScript(esm: string): string {
  const names: string[] = [];
  const body = esm.replace(EXPORT, (_, before: string, what: string, name: string) => {
    names.push(name);
    return `${before}${what} ${name}`;
  });
  if (!names.includes('instantiate')) throw new Error('generated code has no instantiate export');
  const source = `(function () {"use strict";\n${body}\n;return { ${names.join(', ')} };\n})`;
  new Script(source); // parses, or throws a SyntaxError naming what is left
  return source;
}

/** What a worker calls to make an instance (jco's sync `instantiate`). */
export type Instantiate<Exports> = (
  get: (name: string) => WebAssembly.Module,
  imports: unknown,
  core: (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
) => Exports;

/**
 * Loads a generated script with its code cache, and writes the cache once an instantiation has run
 * when there was none or V8 refused it. V8 accepts a cache only from the same V8 with the same flags,
 * so each set of flags (the runner's, the CLI's) keeps a cache of its own beside the script.
 */
export function loadGenerated<Exports>(file: string): Instantiate<Exports> {
  const cacheFile = `${file}.${flagsTag()}.v8cache`;
  const cachedData = readIfThere(cacheFile);
  const script = new Script(readFileSync(file, 'utf8'), { filename: file, cachedData });
  const { instantiate } = (script.runInThisContext() as () => { instantiate: Instantiate<Exports> })();
  let cacheWanted = cachedData === undefined || script.cachedDataRejected === true;
  return (get, imports, core) => {
    const exports = instantiate(get, imports, core);
    if (cacheWanted) {
      cacheWanted = false;
      writeCache(cacheFile, script.createCachedData()); // now with the functions instantiation compiled
    }
    return exports;
  };
}

function readIfThere(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Atomically (workers of one component may start together); a cache that cannot be written only costs speed. */
function writeCache(file: string, data: Buffer): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
}

/** A short name for this process's V8 and its flags (FNV-1a): caches made under other flags are refused. */
function flagsTag(): string {
  let hash = 0x811c9dc5;
  for (const char of `${process.versions.v8} ${process.execArgv.join(' ')}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}
