export { Fetcher, type FetchedBlob, type FetchSettings, type RetryListener } from './fetcher.js';
export { RegistryClient } from './oci.js';
export { sha256Hex } from './capped.js';
export { credentialsFor } from './registry-auth.js';
export { parseSource, redact } from './source.js';
