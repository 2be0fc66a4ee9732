// The shape of the code, checked: dependencies point inward and nothing imports in a circle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from '../helpers.js';

const SRC = join(ROOT, 'src');

/** Folders by layer: a folder may import its own layer and those below it, never above. */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['base'],
  ['errors.ts', 'durable-write.ts', 'replace-file.ts', 'bounded-server.ts'],
  ['spec', 'ops'],
  ['fetch', 'runtime', 'outbox', 'desired', 'settings.ts', 'broker'],
  ['supervisor'],
  ['methods'],
  ['edge', 'local', 'devloop'],
  ['cli'],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of each file (type-only ones included: they couple the code just the same). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)].map((m) => resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
    graph.set(file, targets);
  }
  return graph;
}

const area = (file: string) => relative(SRC, file).split('/')[0]!;
const layerOf = (file: string) => LAYERS.findIndex((layer) => layer.includes(area(file)));

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(relative(SRC, w));
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.includes(v)) found.push(component);
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return found;
}

describe('import graph', () => {
  const graph = importGraph();

  it('every source file belongs to a layer', () => {
    const unplaced = [...graph.keys()].filter((f) => layerOf(f) < 0).map((f) => relative(SRC, f));
    expect(unplaced).toEqual([]);
  });

  it('has no circles between files', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no circles between folders', () => {
    const folders = new Map<string, string[]>();
    for (const [file, targets] of graph) {
      const from = join(SRC, area(file));
      folders.set(from, [...new Set([...(folders.get(from) ?? []), ...targets.map((t) => join(SRC, area(t))).filter((t) => t !== from)])]);
    }
    expect(cycles(folders)).toEqual([]);
  });

  it('points inward: no folder imports a layer above its own', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        if (layerOf(target) > layerOf(file)) upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("keeps a workload worker lean: nothing it loads reaches the schema (zod costs ~6 MB per worker) or the host's folders", () => {
    const reached = new Set<string>();
    const visit = (file: string) => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const target of graph.get(file) ?? []) visit(target);
    };
    visit(join(SRC, 'runtime/worker/main.ts'));
    const allowed = new Set(['runtime', 'base', 'outbox', 'errors.ts', 'durable-write.ts']);
    expect([...reached].map((f) => relative(SRC, f)).filter((f) => !allowed.has(f.split('/')[0]!))).toEqual([]);
  });

  it('finds a circle when there is one (the check itself can fail)', () => {
    const a = join(SRC, 'x/a.ts');
    const b = join(SRC, 'x/b.ts');
    expect(cycles(new Map([[a, [b]], [b, [a]]]))).toHaveLength(1);
  });
});
