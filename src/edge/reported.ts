import { isPlainObject } from '../spec/index.js';

/** IoT Hub's limit for one side of a twin; we keep a margin for the twin's own metadata. */
export const MAX_REPORTED_BYTES = 32 * 1024;
const TARGET_BYTES = 28 * 1024;

/**
 * The patch that turns `before` into `after`: changed keys with their new value, removed keys as
 * null, unchanged keys left out. Pure. Returns undefined when nothing changed.
 */
export function reportedPatch(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    const old = before[key];
    if (isPlainObject(value) && isPlainObject(old)) {
      const inner = reportedPatch(old, value);
      if (inner) patch[key] = inner;
    } else if (JSON.stringify(old) !== JSON.stringify(value)) {
      patch[key] = value;
    }
  }
  return Object.keys(patch).length ? patch : undefined;
}

/**
 * Keeps a reported document under the twin's size limit: long errors are cut first, then errors are
 * dropped, then workloads beyond what fits are left out (and counted in `host.workloadsNotReported`).
 */
export function fitReported(doc: { host: Record<string, unknown>; workloads: Record<string, Record<string, unknown>> }): typeof doc {
  const size = (d: unknown) => Buffer.byteLength(JSON.stringify(d));
  if (size(doc) <= TARGET_BYTES) return doc;
  const cutErrors = (max: number) =>
    Object.fromEntries(Object.entries(doc.workloads).map(([n, w]) => [n, { ...w, lastError: typeof w.lastError === 'string' ? w.lastError.slice(0, max) : w.lastError }]));
  for (const max of [128, 0]) {
    const fitted = { ...doc, workloads: cutErrors(max) };
    if (size(fitted) <= TARGET_BYTES) return fitted;
  }
  const workloads: Record<string, Record<string, unknown>> = {};
  const all = Object.entries(cutErrors(0));
  let used = size({ ...doc, workloads: {} }) + 64;
  for (const [name, w] of all) {
    used += size({ [name]: w });
    if (used > TARGET_BYTES) break;
    workloads[name] = w;
  }
  return { host: { ...doc.host, workloadsNotReported: all.length - Object.keys(workloads).length }, workloads };
}
