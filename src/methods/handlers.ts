import { z } from 'zod';
import { errorText, isWasmhostError, WasmhostError } from '../errors.js';
import type { BrokerClientStatus } from '../broker/index.js';
import type { Supervisor } from '../supervisor/index.js';
import { selectLogs, logsRequestSchema } from './logs.js';

/** IoT Hub's limit for a direct method payload, both ways. */
export const MAX_METHOD_PAYLOAD_BYTES = 128 * 1024;

export interface MethodResponse {
  readonly status: number;
  readonly payload: unknown;
}

export interface HostInfo {
  readonly version: string;
  readonly startedAt: number;
}

type Handler = (payload: unknown) => Promise<MethodResponse> | MethodResponse;

const named = z.object({ name: z.string().min(1).max(64) });
const invoke = z.object({ name: z.string().min(1).max(64), method: z.string().min(1).max(128), payload: z.unknown().optional() });

/**
 * The operator's methods (design.md "Direct methods"), served alike as IoT Hub direct methods and by
 * local mode's admin endpoint. 400 for a bad payload, 404 for an unknown name, 500 only for host faults.
 */
export function createMethodHandlers(supervisor: Supervisor, info: HostInfo, broker?: { list(): BrokerClientStatus[] }): Record<string, Handler> {
  const withName = (act: (name: string) => unknown): Handler => async (payload) => {
    const { name } = parse(named, payload);
    await act(name);
    return ok({ name, status: supervisor.list().find((s) => s.name === name)?.status });
  };
  return {
    ping: () => ok({ version: info.version, uptimeSeconds: Math.round((Date.now() - info.startedAt) / 1000) }),
    listWorkloads: () => ok(supervisor.listWithUsage()),
    listBrokerClients: () => ok(broker?.list() ?? []),
    restartWorkload: withName((name) => supervisor.restart(name)),
    stopWorkload: withName((name) => supervisor.stop(name)),
    startWorkload: withName((name) => supervisor.start(name)),
    invokeWorkload: async (payload) => {
      const request = parse(invoke, payload);
      const text = typeof request.payload === 'string' ? request.payload : JSON.stringify(request.payload ?? null);
      const result = await supervisor.invoke(request.name, request.method, text);
      return ok(parseMaybeJson(result ?? ''));
    },
    getWorkloadLogs: (payload) => ok(selectLogs(parse(logsRequestSchema, payload), supervisor, MAX_METHOD_PAYLOAD_BYTES - 1024)),
  };
}

/** Runs one method by name; never throws. */
export async function dispatchMethod(handlers: Record<string, Handler>, name: string, payload: unknown): Promise<MethodResponse> {
  const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
  if (!handler) return { status: 404, payload: { code: 'WH_ERR_METHOD_UNKNOWN', message: `unknown method ${name}` } };
  try {
    const response = await handler(payload);
    const size = Buffer.byteLength(JSON.stringify(response.payload) ?? '');
    if (size > MAX_METHOD_PAYLOAD_BYTES) return { status: 500, payload: { message: `result is ${size} bytes; the method limit is ${MAX_METHOD_PAYLOAD_BYTES}` } };
    return response;
  } catch (err) {
    if (isWasmhostError(err)) return { status: err.status, payload: { code: err.code, message: err.message } };
    return { status: 500, payload: { message: errorText(err) } };
  }
}

function ok(payload: unknown): MethodResponse {
  return { status: 200, payload };
}

function parse<T>(schema: z.ZodType<T>, payload: unknown): T {
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ');
  throw new WasmhostError('WH_ERR_BAD_PAYLOAD', problems);
}

function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
