import { isInterface } from '../../base/index.js';

export type GuestFn = (...args: unknown[]) => unknown;
/** A guest instance's exports as jco hands them: by interface name (with version) and by short name. */
export type Exports = Record<string, Record<string, GuestFn> | undefined>;

/** The export of interface `iface`, at whatever version the component exports it. */
export function entry(exports: Exports, iface: string): Record<string, GuestFn> | undefined {
  const key = Object.keys(exports).find((k) => isInterface(k, iface));
  return key ? exports[key] : undefined;
}
