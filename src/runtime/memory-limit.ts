import { WasmhostError } from '../errors.js';
import { readU32 } from './binary.js';

const PAGE_BYTES = 65536;
const TABLE_SECTION = 4;
const MEMORY_SECTION = 5;
const HAS_MAX = 0x01;
const MEMORY64 = 0x04;
const TABLE64 = 0x04;
/**
 * Entries one table may ever hold. Table entries live on the worker's JS heap, and V8 ends the whole
 * process when one allocation cannot fit there (field notes: a 10M-entry grow): tables must be capped
 * where they are declared. Real components need far less (SpiderMonkey JS: ~7,800; C: tens).
 */
export const MAX_TABLE_ENTRIES = 100_000;
/** Tables one core module may define (each up to MAX_TABLE_ENTRIES). */
export const MAX_TABLES = 16;

/**
 * Rewrites the maximum of every memory and table a core module defines: memories to at most `limitMb`,
 * tables to MAX_TABLE_ENTRIES, so that growth past them fails inside the guest (memory.grow and
 * table.grow return -1). Worker resourceLimits cover neither (field notes), so this is the cap. A
 * module that needs more at start, defines more than MAX_TABLES tables, or uses memory64 / table64 is
 * refused. Imported memories and tables are capped where they are defined.
 */
export function capMemories(module: Uint8Array, limitMb: number): Uint8Array<ArrayBuffer> {
  const limitPages = Math.floor((limitMb * 1024 * 1024) / PAGE_BYTES);
  const chunks: Uint8Array[] = [module.subarray(0, 8)]; // magic + version
  let pos = 8;
  while (pos < module.length) {
    const id = module[pos++]!;
    const [size, sizeLen] = readU32(module, pos);
    pos += sizeLen;
    const payload = module.subarray(pos, pos + size);
    pos += size;
    const body = id === MEMORY_SECTION ? rewriteMemorySection(payload, limitPages, limitMb) : id === TABLE_SECTION ? rewriteTableSection(payload) : payload;
    chunks.push(Uint8Array.from([id, ...writeU32(body.length)]), body);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function rewriteMemorySection(payload: Uint8Array, limitPages: number, limitMb: number): Uint8Array {
  const out: number[] = [];
  let pos = 0;
  const [count, countLen] = readU32(payload, pos);
  pos += countLen;
  out.push(...writeU32(count));
  for (let i = 0; i < count; i++) {
    const { flags, min, max, next } = readLimits(payload, pos);
    pos = next;
    if (flags & MEMORY64) throw new WasmhostError('WH_ERR_MEMORY_LIMIT', 'memory64 modules are not supported');
    if (min > limitPages) {
      throw new WasmhostError(
        'WH_ERR_MEMORY_LIMIT',
        `the module needs ${Math.ceil((min * PAGE_BYTES) / 1048576)} MB of memory at start; limits.memoryMb is ${limitMb}`,
      );
    }
    out.push(flags | HAS_MAX, ...writeU32(min), ...writeU32(Math.min(max, limitPages)));
  }
  return Buffer.concat([Uint8Array.from(out), payload.subarray(pos)]);
}

function rewriteTableSection(payload: Uint8Array): Uint8Array {
  const out: number[] = [];
  let pos = 0;
  const [count, countLen] = readU32(payload, pos);
  pos += countLen;
  if (count > MAX_TABLES) throw new WasmhostError('WH_ERR_MEMORY_LIMIT', `the module defines ${count} tables; at most ${MAX_TABLES} are allowed`);
  out.push(...writeU32(count));
  for (let i = 0; i < count; i++) {
    const refType = payload[pos++]!;
    // 0x40: a table with an initializer expression (function references): not produced by toolchains we run.
    if (refType === 0x40) throw new WasmhostError('WH_ERR_MEMORY_LIMIT', 'tables with initializer expressions are not supported');
    const { flags, min, max, next } = readLimits(payload, pos);
    pos = next;
    if (flags & TABLE64) throw new WasmhostError('WH_ERR_MEMORY_LIMIT', 'table64 modules are not supported');
    if (min > MAX_TABLE_ENTRIES) throw new WasmhostError('WH_ERR_MEMORY_LIMIT', `the module needs a table of ${min} entries at start; the limit is ${MAX_TABLE_ENTRIES}`);
    out.push(refType, flags | HAS_MAX, ...writeU32(min), ...writeU32(Math.min(max, MAX_TABLE_ENTRIES)));
  }
  return Buffer.concat([Uint8Array.from(out), payload.subarray(pos)]);
}

/** A memory's or table's limits at `start`: flags, minimum, maximum (Infinity when none), where they end. */
function readLimits(payload: Uint8Array, start: number): { flags: number; min: number; max: number; next: number } {
  let pos = start;
  const flags = payload[pos++]!;
  const [min, minLen] = readU32(payload, pos);
  pos += minLen;
  let max = Infinity;
  if (flags & HAS_MAX) {
    const [m, maxLen] = readU32(payload, pos);
    pos += maxLen;
    max = m;
  }
  return { flags, min, max, next: pos };
}

function writeU32(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}
