import { WasmhostError } from '../errors.js';

/** A mistake on the command line: printed as one line, exit status 2. */
export function usage(message: string): WasmhostError {
  return new WasmhostError('WH_ERR_CLI_USAGE', message);
}

/** `k=v` pairs into a map; a malformed pair is a usage error naming the flag. */
export function pairs(values: readonly string[] | undefined, flag: string, separator = '='): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values ?? []) {
    const at = value.indexOf(separator);
    if (at <= 0) throw usage(`${flag} expects KEY${separator}VALUE, got ${JSON.stringify(value)}`);
    out[value.slice(0, at)] = value.slice(at + separator.length);
  }
  return out;
}

export function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw usage(`${flag} expects a positive integer, got ${JSON.stringify(value)}`);
  return n;
}
