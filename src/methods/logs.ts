import { WasmhostError } from '../errors.js';
import { z } from 'zod';
import type { LogRecord } from '../ops/index.js';
import { formatLine } from '../ops/index.js';
import type { LogLevel } from '../runtime/index.js';
import type { Supervisor } from '../supervisor/index.js';

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
    .max(32),
  encoding: z.enum(['none']).optional(),
  contentType: z.enum(['text', 'json']).optional(),
});

export type LogsRequest = z.infer<typeof logsRequestSchema>;

const SEVERITY: Record<LogLevel, number> = { trace: 7, debug: 7, info: 6, warn: 4, error: 3 };

/** Picks each matching workload's log records; oldest lines are left out first to stay under `maxBytes`. */
export function selectLogs(request: LogsRequest, supervisor: Supervisor, maxBytes: number): Array<{ id: string; payload: unknown }> {
  const out: Array<{ id: string; payload: unknown }> = [];
  for (const item of request.items) {
    const idPattern = safeRegex(`^(?:${item.id})$`);
    const textPattern = item.filter?.regex === undefined ? undefined : safeRegex(item.filter.regex);
    const since = toMillis(item.filter?.since);
    const until = toMillis(item.filter?.until);
    for (const name of supervisor.names().filter((n) => idPattern.test(n))) {
      let records = supervisor.logs(name).filter(
        (r) =>
          (since === undefined || r.time >= since) &&
          (until === undefined || r.time <= until) &&
          (item.filter?.loglevel === undefined || SEVERITY[r.level] === item.filter.loglevel) &&
          (!textPattern || textPattern.test(r.text)),
      );
      if (item.filter?.tail !== undefined) records = records.slice(-item.filter.tail || records.length);
      out.push({ id: name, payload: render(records, request.contentType) });
    }
  }
  return shrinkToFit(out, request.contentType, maxBytes);
}

function render(records: LogRecord[], contentType: LogsRequest['contentType']): unknown {
  if (contentType === 'json') return records.map((r) => ({ timestamp: new Date(r.time).toISOString(), loglevel: SEVERITY[r.level], text: r.text }));
  return records.map((r) => formatLine(r.level, r.text, new Date(r.time))).join('');
}

function shrinkToFit(items: Array<{ id: string; payload: unknown }>, contentType: LogsRequest['contentType'], maxBytes: number) {
  const size = () => Buffer.byteLength(JSON.stringify(items));
  while (size() > maxBytes) {
    const largest = items.reduce((a, b) => (JSON.stringify(a.payload).length >= JSON.stringify(b.payload).length ? a : b));
    if (Array.isArray(largest.payload)) largest.payload = largest.payload.slice(Math.ceil(largest.payload.length / 4));
    else if (typeof largest.payload === 'string') largest.payload = largest.payload.slice(Math.ceil(largest.payload.length / 4)).replace(/^[^\n]*\n/, '');
    else break;
    if (contentType === undefined && largest.payload === '') break;
  }
  return items;
}

function toMillis(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value * 1000; // unix seconds, as edgeAgent accepts
  const relative = /^(\d+)\s*(s|m|h|d)$/.exec(value);
  if (relative) return Date.now() - Number(relative[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[relative[2] as 's' | 'm' | 'h' | 'd'];
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

function safeRegex(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch {
    throw new WasmhostError('WH_ERR_BAD_PAYLOAD', `invalid regex ${JSON.stringify(source)}`);
  }
}
