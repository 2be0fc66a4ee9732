import { isPlainObject } from './validate.js';

/**
 * Applies a twin patch to a desired document the way IoT Hub does: objects merge key by key, `null`
 * deletes the key, anything else (arrays included) replaces. Pure: returns a new document.
 * (The SDK's own Twin cache merges arrays index by index and never forgets deleted keys on re-read,
 * which is why the adapter keeps its own copy.)
 */
export function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  // Null-prototype objects: a `__proto__` key in a patch is then just a key (which validation refuses),
  // never a way to set the merged document's prototype.
  const out: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, target);
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) delete out[key];
    else if (isPlainObject(value) && isPlainObject(out[key])) out[key] = mergePatch(out[key] as Record<string, unknown>, value);
    else out[key] = value;
  }
  return out;
}
