/**
 * How `wasmhost test` compares: JSON bodies by subset (an expected object's keys must be there with
 * matching values; arrays match element by element and in length; anything else is equal).
 */
export function matches(expected: unknown, actual: unknown): boolean {
  if (Array.isArray(expected)) return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matches(e, actual[i]));
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([k, v]) => Object.hasOwn(actual, k) && matches(v, (actual as Record<string, unknown>)[k]));
  }
  return Object.is(expected, actual);
}

/** A message body as a test reads it: parsed JSON when it is JSON, else its text. */
export function bodyValue(body: Uint8Array | string): unknown {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** What a step's expected part looks like beside what happened, for a failing step. */
export function describeMismatch(what: string, expected: unknown, actual: unknown): string {
  return `${what}\n      expected: ${JSON.stringify(expected)}\n      actual:   ${JSON.stringify(actual)}`;
}
