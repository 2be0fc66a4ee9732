import { gzipSync } from 'node:zlib';
import { WasmhostError } from '../errors.js';
import { RE2JS } from 're2js';
import { z } from 'zod';
import type { LogRecord } from '../ops/index.js';
import { formatLine } from '../ops/index.js';
import type { LogLevel } from '../runtime/index.js';

/** Items in one request: each may match many workloads, so a few are plenty. */
export const MAX_LOG_ITEMS = 8;

/** edgeAgent's GetModuleLogs request, with workload names where it has module ids. */
export const logsRequestSchema = z.object({
  schemaVersion: z.string().optional(),
  items: z
    .array(
      z.object({
        id: z.string().min(1).max(256),
        filter: z
          .object({
            tail: z.number().int().min(0).optional(),
            since: z.union([z.string(), z.number()]).optional(),
            until: z.union([z.string(), z.number()]).optional(),
            loglevel: z.number().int().min(0).max(7).optional(),
            regex: z.string().max(256).optional(),
          })
          .optional(),
      }),
    )
    .min(1)
    .max(MAX_LOG_ITEMS),
  encoding: z.enum(['none', 'gzip']).optional(),
  contentType: z.enum(['text', 'json']).optional(),
});

export type LogsRequest = z.infer<typeof logsRequestSchema>;

const SEVERITY: Record<LogLevel, number> = { trace: 7, debug: 7, info: 6, warn: 4, error: 3 };
/** What one `{id, payload}` entry costs around its payload in the JSON answer, beyond the name. */
const ENTRY_OVERHEAD_BYTES = 32;

/** Where log records come from (the supervisor): names, and each one's ring, oldest first. */
export interface LogSource {
  names(): string[];
  logs(name: string): LogRecord[];
}

interface Selector {
  readonly id: RE2JS;
  readonly text: RE2JS | undefined;
  readonly since: number | undefined;
  readonly until: number | undefined;
  readonly loglevel: number | undefined;
  readonly tail: number | undefined;
}

/**
 * edgeAgent's GetModuleLogs over the workloads' log rings, within `maxBytes` of JSON. Caller regexes
 * run on RE2 (linear time: no pattern can stall the host). Each workload is matched by the first item
 * whose id matches it, and its ring is read once, newest first, rendering until its share of the byte
 * budget is used: the answer is never built bigger than what is sent.
 */
export function selectLogs(request: LogsRequest, source: LogSource, maxBytes: number): Array<{ id: string; payload: unknown } | { id: string; payloadBytes: string }> {
  const selectors: Selector[] = request.items.map((item) => ({
    id: compile(`^(?:${item.id})$`),
    text: item.filter?.regex === undefined ? undefined : compile(item.filter.regex),
    since: toMillis(item.filter?.since),
    until: toMillis(item.filter?.until),
    loglevel: item.filter?.loglevel,
    tail: item.filter?.tail || undefined,
  }));
  const matched = source.names().flatMap((name) => {
    const selector = selectors.find((s) => s.id.matches(name));
    return selector ? [{ name, selector }] : [];
  });
  // base64 of gzip can be a third larger than the text when the text does not compress: room for that.
  let budget = (request.encoding === 'gzip' ? Math.floor(maxBytes * 0.7) : maxBytes) - 2;
  return matched.map(({ name, selector }, i) => {
    const share = Math.floor(budget / (matched.length - i)) - ENTRY_OVERHEAD_BYTES - Buffer.byteLength(name);
    const { payload, bytes } = render(source.logs(name), selector, request.contentType, share);
    budget -= bytes + ENTRY_OVERHEAD_BYTES + Buffer.byteLength(name);
    // edgeAgent's gzip answer: the payload (text, or the JSON array as text) compressed, as base64 bytes.
    if (request.encoding === 'gzip') return { id: name, payloadBytes: gzipSync(typeof payload === 'string' ? payload : JSON.stringify(payload)).toString('base64') };
    return { id: name, payload };
  });
}

/** The newest records that pass the filter and fit in `maxBytes` (as JSON), in time order. */
function render(records: LogRecord[], selector: Selector, contentType: LogsRequest['contentType'], maxBytes: number): { payload: unknown; bytes: number } {
  const picked: unknown[] = [];
  let bytes = 2;
  for (let i = records.length - 1; i >= 0 && (selector.tail === undefined || picked.length < selector.tail); i--) {
    const r = records[i]!;
    if (selector.since !== undefined && r.time < selector.since) break; // older ones are older still
    if (selector.until !== undefined && r.time > selector.until) continue;
    if (selector.loglevel !== undefined && SEVERITY[r.level] !== selector.loglevel) continue;
    if (selector.text && !selector.text.test(r.text)) continue;
    const entry = contentType === 'json' ? { timestamp: new Date(r.time).toISOString(), loglevel: SEVERITY[r.level], text: r.text } : formatLine(r.level, r.text, new Date(r.time));
    const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (bytes + size > maxBytes) break;
    bytes += size;
    picked.push(entry);
  }
  picked.reverse();
  return { payload: contentType === 'json' ? picked : picked.join(''), bytes };
}

function toMillis(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value * 1000; // unix seconds, as edgeAgent accepts
  const relative = /^(\d+)\s*(s|m|h|d)$/.exec(value);
  if (relative) return Date.now() - Number(relative[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[relative[2] as 's' | 'm' | 'h' | 'd'];
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

function compile(source: string): RE2JS {
  try {
    return RE2JS.compile(source);
  } catch {
    throw new WasmhostError('WH_ERR_BAD_PAYLOAD', `invalid regex ${JSON.stringify(source)} (RE2 syntax: no backreferences or lookaround)`);
  }
}
