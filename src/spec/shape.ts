/** Keys that would reach an object's prototype if a document were ever merged into a plain object. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type ShapeProblem = { readonly kind: 'depth'; readonly depth: number } | { readonly kind: 'key'; readonly path: readonly string[] };

/**
 * Walks a parsed JSON document without recursion (a hostile document may nest thousands deep) and
 * stops at the first value nested deeper than `maxDepth`. Reports that, or every forbidden key with
 * its path. Nothing else may walk a document (stringify, merge, zod) before this said it is sound.
 */
export function checkShape(doc: unknown, maxDepth: number): ShapeProblem[] {
  const problems: ShapeProblem[] = [];
  const stack: Array<{ value: unknown; depth: number; path: readonly string[] }> = [{ value: doc, depth: 0, path: [] }];
  while (stack.length) {
    const { value, depth, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth + 1 > maxDepth) return [{ kind: 'depth', depth: depth + 1 }];
    const isArray = Array.isArray(value);
    for (const key of Object.keys(value)) {
      if (!isArray && FORBIDDEN_KEYS.has(key)) problems.push({ kind: 'key', path: [...path, key] });
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, path: [...path, key] });
    }
  }
  return problems;
}
