import { WasmhostError } from '../errors.js';

export type ParsedSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'http'; readonly url: URL }
  | { readonly kind: 'oci'; readonly registry: string; readonly repository: string; readonly reference: string };

const OCI = /^oci:\/\/([A-Za-z0-9.-]+(?::[0-9]{1,5})?)\/([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(sha256:[0-9a-f]{64}))?$/;

/** Parses a workload `source`; a malformed or unsupported one is a clear WH_ERR_SOURCE_UNSUPPORTED. */
export function parseSource(source: string): ParsedSource {
  if (source.startsWith('file://')) return { kind: 'file', path: decodeURIComponent(source.slice('file://'.length)) };
  if (/^https?:\/\//i.test(source)) {
    try {
      return { kind: 'http', url: new URL(source) };
    } catch {
      throw new WasmhostError('WH_ERR_SOURCE_UNSUPPORTED', `invalid URL ${redact(source)}`);
    }
  }
  if (source.startsWith('oci://')) {
    const m = OCI.exec(source);
    if (!m) throw new WasmhostError('WH_ERR_SOURCE_UNSUPPORTED', `invalid OCI reference ${redact(source)}: expected oci://registry/repository:tag or @sha256:<digest>`);
    return { kind: 'oci', registry: m[1]!, repository: m[2]!, reference: m[4] ?? m[3] ?? 'latest' };
  }
  throw new WasmhostError('WH_ERR_SOURCE_UNSUPPORTED', `unsupported source ${redact(source)}: use file://, https://, http:// or oci://`);
}

/**
 * A source as it may appear in logs, errors and reported properties: userinfo, query strings (SAS
 * tokens) and fragments removed. The one place that decides this: every message naming a source uses it.
 */
export function redact(source: string): string {
  return source.replace(/^([a-z]+:\/\/)[^/@?#]*@/i, '$1').replace(/[?#].*$/s, '?...');
}
