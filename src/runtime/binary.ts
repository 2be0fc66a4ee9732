import { WasmhostError } from '../errors.js';

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** Core modules are version 1 / layer 0; components use a different version/layer word. */
export function isCoreModule(bytes: Uint8Array): boolean {
  return bytes[4] === 0x01 && bytes[5] === 0x00 && bytes[6] === 0x00 && bytes[7] === 0x00;
}

export function assertWasm(bytes: Uint8Array): void {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new WasmhostError('WH_ERR_NOT_WASM', 'the blob does not start with the WebAssembly magic number');
  }
}

/** Imports or exports one component (or preview1 module) may declare: ~30 is usual, 5,000 took a 17 s, 462 MB transpile. */
export const MAX_DECLARED_ITEMS = 512;
const COMPONENT_IMPORTS = 10;
const COMPONENT_EXPORTS = 11;
const CORE_IMPORTS = 2;
const CORE_EXPORTS = 7;

/**
 * Counts the top-level imports and exports by reading section headers only (no parse of the rest), and
 * refuses a binary over MAX_DECLARED_ITEMS of either before anything costly is done with it.
 */
export function assertBounded(bytes: Uint8Array): void {
  const core = isCoreModule(bytes);
  const [importId, exportId] = core ? [CORE_IMPORTS, CORE_EXPORTS] : [COMPONENT_IMPORTS, COMPONENT_EXPORTS];
  let imports = 0;
  let exports = 0;
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++]!;
    const [size, sizeLen] = readU32(bytes, pos);
    pos += sizeLen;
    if (id === importId || id === exportId) {
      const [count] = readU32(bytes, pos);
      if (id === importId) imports += count;
      else exports += count;
    }
    pos += size;
  }
  for (const [what, count] of [['imports', imports], ['exports', exports]] as const) {
    if (count > MAX_DECLARED_ITEMS) throw new WasmhostError('WH_ERR_COMPILE_FAILED', `the ${core ? 'module' : 'component'} declares ${count} ${what}; at most ${MAX_DECLARED_ITEMS} are allowed`);
  }
}

/** An unsigned LEB128 number at `start`: its value and how many bytes it took. */
export function readU32(bytes: Uint8Array, start: number): [value: number, length: number] {
  let result = 0;
  let shift = 0;
  let pos = start;
  for (;;) {
    const byte = bytes[pos++];
    if (byte === undefined || shift > 35) throw new WasmhostError('WH_ERR_NOT_WASM', 'truncated or malformed LEB128');
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [result, pos - start];
    shift += 7;
  }
}

/** A LEB128-prefixed UTF-8 string at `start`: its text and the position after it. */
function readName(bytes: Uint8Array, start: number): [text: string, end: number] {
  const [length, lengthBytes] = readU32(bytes, start);
  const from = start + lengthBytes;
  return [Buffer.from(bytes.buffer, bytes.byteOffset + from, length).toString('utf8'), from + length];
}

/**
 * The tools named in the top-level `producers` section (`processed-by`, `language`, ...), nested
 * modules left out: what made the binary, e.g. `ComponentizeJS` for a StarlingMonkey component.
 */
export function producers(bytes: Uint8Array): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++]!;
    const [size, sizeLen] = readU32(bytes, pos);
    const start = pos + sizeLen;
    pos = start + size;
    if (id !== 0) continue;
    const [name, afterName] = readName(bytes, start);
    if (name !== 'producers') continue;
    const [fields, fieldsLen] = readU32(bytes, afterName);
    let at = afterName + fieldsLen;
    for (let f = 0; f < fields && at < pos; f++) {
      let field: string;
      [field, at] = readName(bytes, at);
      const [count, countLen] = readU32(bytes, at);
      at += countLen;
      const values: string[] = [];
      for (let v = 0; v < count && at < pos; v++) {
        let value: string;
        [value, at] = readName(bytes, at);
        [, at] = readName(bytes, at); // its version
        values.push(value);
      }
      found.set(field, [...(found.get(field) ?? []), ...values]);
    }
  }
  return found;
}
