export { Fetcher, type FetchedBlob, type FetchSettings, type RetryListener } from './fetcher.js';
export { RegistryClient, WASM_LAYER_TYPES } from './oci.js';
export { credentialsFor } from './registry-auth.js';
export { parseSource, redact } from './source.js';
