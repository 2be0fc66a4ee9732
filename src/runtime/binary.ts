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
