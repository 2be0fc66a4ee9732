import { setFlagsFromString } from 'node:v8';
import { MAX_TABLE_ENTRIES } from './memory-limit.js';

/**
 * V8's wasm settings for a process that compiles or runs guests (the host, the runner): set once,
 * before the first compile, and shared by its worker threads.
 * - No table anywhere (one jco's glue makes included) may outgrow a heap: besides the caps written into
 *   each module (capMemories), V8's own bound.
 * - extended-const (wasm 3.0, on by default from Node 22): QuickJS components (componentize-qjs) use it
 *   in constant expressions; Node 20 compiles them only with it turned on.
 */
export function setWasmFlags(): void {
  setFlagsFromString(`--wasm-max-table-size=${MAX_TABLE_ENTRIES}`);
  // Newer V8s have it on and no longer know the flag (setting an unknown one prints an error).
  if (!WebAssembly.validate(EXTENDED_CONST_PROBE)) setFlagsFromString('--experimental-wasm-extended-const');
}

/** A module whose one global is initialised with `i32.add` in a constant expression. */
const EXTENDED_CONST_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 6, 9, 1, 0x7f, 0, 0x41, 1, 0x41, 2, 0x6a, 0x0b]);
