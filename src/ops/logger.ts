import type { LogLevel } from '../base/index.js';

/** Syslog severities as edgeAgent writes them: `<N>` at the start of each line. */
const SEVERITY: Record<LogLevel, number> = { trace: 7, debug: 7, info: 6, warn: 4, error: 3 };
const TAG: Record<LogLevel, string> = { trace: 'VRB', debug: 'DBG', info: 'INF', warn: 'WRN', error: 'ERR' };
const ORDER: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

/** `RuntimeLogLevel` values as the system modules accept them (edgeAgent uses .NET names too). */
const ALIASES: Record<string, LogLevel> = {
  verbose: 'trace', trace: 'trace', debug: 'debug', information: 'info', info: 'info',
  warning: 'warn', warn: 'warn', error: 'error', fatal: 'error',
};

export function parseLogLevel(value: string | undefined): LogLevel {
  return (value && ALIASES[value.toLowerCase()]) || 'info';
}

type Write = (line: string) => void;

export interface Logger {
  readonly level: LogLevel;
  trace(text: string): void;
  debug(text: string): void;
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
  log(level: LogLevel, text: string): void;
  /** A logger whose lines all start with `[workload=<name>]`. */
  forWorkload(name: string): Logger;
}

const noop = (): void => undefined;

/**
 * Logs one record per line in edgeAgent's format, `<6> 2026-11-24 10:00:00.000 +00:00 [INF] - text`,
 * so `iotedge logs` and GetModuleLogs filters work. Levels below the threshold are bound to no-ops
 * when the logger is built (pino's discipline), and a child's prefix is rendered once.
 */
/**
 * A logger writing edgeAgent's format through `write`. `mirror`, if given, also gets each record that
 * passes the level (OpenTelemetry log export).
 */
export function createLogger(level: LogLevel, write: Write = (line) => process.stdout.write(line), mirror?: (level: LogLevel, text: string) => void): Logger {
  return prefixed(level, write, mirror, '');
}

function prefixed(level: LogLevel, write: Write, mirror: ((level: LogLevel, text: string) => void) | undefined, prefix: string): Logger {
  const emit = (l: LogLevel) => (mirror ? (text: string) => (write(formatLine(l, prefix + text)), mirror(l, prefix + text)) : (text: string) => write(formatLine(l, prefix + text)));
  const at = (l: LogLevel) => (ORDER[l] >= ORDER[level] ? emit(l) : noop);
  const bound = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return {
    level,
    ...bound,
    log: (l, text) => bound[l](text),
    forWorkload: (name) => prefixed(level, write, mirror, `${prefix}[workload=${name}] `),
  };
}

export function formatLine(level: LogLevel, text: string, time = new Date()): string {
  const iso = time.toISOString(); // 2026-11-24T10:00:00.000Z
  return `<${SEVERITY[level]}> ${iso.slice(0, 10)} ${iso.slice(11, 23)} +00:00 [${TAG[level]}] - ${text.replace(/\r?\n/g, ' ')}\n`;
}
