// Graph workloads in the desired document: AIO's graph definition plus module pins, every problem
// reported with its path, the workload left out and the others applied.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseGraphYaml, validateDesired } from '../../dist/spec/index.js';
import { ROOT } from '../helpers.js';

const pinned = 'b'.repeat(64);
const yaml = (name: string) => readFileSync(join(ROOT, 'test-support', 'graphs', `${name}.yaml`));
const windowGraph = () => parseYaml(yaml('temperature-window').toString()) as { operations: any[]; connections: any[]; moduleConfigurations: any[] };
const modules = [{ module: 'temperature:1.0.0', source: 'file://t.wasm', sha256: pinned }, { module: 'window:1.0.0', source: 'file://w.wasm', sha256: pinned }];

function errorsFor(graph: Record<string, unknown>, extra: Record<string, unknown> = {}, allowUnpinned = false) {
  const result = validateDesired({ schemaVersion: '1.0', workloads: { g: { graph, ...extra }, other: { source: 'file://o.wasm', sha256: pinned } } }, { allowUnpinned });
  expect(result.workloads.has('other')).toBe(true); // one bad graph never blocks the rest
  return result;
}

describe('graph workloads', () => {
  it('accept AIO\'s graph definition pasted as JSON, plus the module pins', () => {
    const result = errorsFor({ ...windowGraph(), modules }, { subscribe: ['plant/#'], output: 'celsius' });
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    const spec = result.workloads.get('g')!;
    expect(spec.source).toBeUndefined();
    expect(spec.output).toBe('celsius');
    expect(spec.graph?.definition?.operations).toHaveLength(6);
  });

  it.each<[string, (g: ReturnType<typeof windowGraph>) => void, string, RegExp]>([
    ['an unknown node', (g) => (g.connections[0].to.name = 'nowhere'), 'workloads.g.graph.connections.0.to.name', /unknown node nowhere/],
    ['a cycle', (g) => g.connections.push({ from: { name: 'module-temperature/accumulate' }, to: { name: 'module-temperature/map' } }), 'workloads.g.graph.connections', /cycle: module-temperature\/map -> .* -> module-temperature\/map/],
    ['an arm on a node that is not a branch', (g) => (g.connections[1].from.arm = 'True'), 'workloads.g.graph.connections.1.from.arm', /arm True on module-temperature\/map, which is a map, not a branch/],
    ['a module without a pin', (g) => (g.operations[1].module = 'other:2.0.0'), 'workloads.g.graph.operations.1.module', /module other:2.0.0 has no entry in modules/],
    ['a duplicate name', (g) => (g.operations[2].name = 'module-temperature/map'), 'workloads.g.graph.operations.2.name', /duplicate node name/],
    ['an operator without a module', (g) => delete g.operations[1].module, 'workloads.g.graph.operations.1.module', /a map node needs a module/],
    ['no sink', (g) => (g.operations[5].operationType = 'map'), 'workloads.g.graph.operations', /needs a sink/],
    ['an unknown operation type', (g) => (g.operations[1].operationType = 'reduce'), 'workloads.g.graph.operations.1.operationType', /./],
    ['a configuration for an unknown node', (g) => (g.moduleConfigurations[0].name = 'ghost'), 'workloads.g.graph.moduleConfigurations.0.name', /unknown node ghost/],
    ['an API major this host does not serve', (g) => ((g as any).moduleRequirements.apiVersion = '0.2.0'), 'workloads.g.graph.moduleRequirements.apiVersion', /serves wasm-graph:processor@1.1.0/],
  ])('refuse %s, naming the field', (_what, spoil, path, message) => {
    const g = windowGraph();
    spoil(g);
    const result = errorsFor({ ...g, modules });
    expect(result.workloads.has('g')).toBe(false);
    expect(result.errors).toContainEqual(expect.objectContaining({ workload: 'g', path, message: expect.stringMatching(message) }));
  });

  it('refuse a branch without arms, an unconnected node, and a module pin without sha256', () => {
    const g = parseYaml(yaml('branch-route').toString()) as any;
    delete g.connections[1].from.arm;
    g.operations.push({ operationType: 'map', name: 'lonely', module: 'temperature:1.0.0' });
    const result = errorsFor({ ...g, modules: [{ module: 'temperature:1.0.0', source: 'file://t.wasm' }] });
    const messages = result.errors.map((e) => `${e.path}: ${e.message}`);
    expect(messages).toEqual(expect.arrayContaining([
      expect.stringMatching(/connections\.1\.from\.arm: .* is a branch: say which arm/),
      expect.stringMatching(/operations\.5\.name: nothing connects to lonely/),
      expect.stringMatching(/modules\.0\.sha256: sha256 of module temperature:1.0.0 is required/),
    ]));
  });

  it('refuse a required parameter the config leaves without a value, and take it once it has one', () => {
    const hostile = parseYaml(yaml('hostile').toString()) as any;
    const pins = [modules[0], { module: 'bad:1.0.0', source: 'file://b.wasm', sha256: pinned }];
    expect(errorsFor({ ...hostile, modules: pins }).errors).toContainEqual(expect.objectContaining({ path: 'workloads.g.graph.moduleConfigurations.0.parameters.mode', message: expect.stringMatching(/required parameter mode/) }));
    expect(errorsFor({ ...hostile, modules: pins }, { config: { mode: 't' } }).errors).toEqual([]);
  });

  it('take an artifact pinned by sha256, its modules pinned without a source; refuse inline and artifact at once', () => {
    const artifact = { artifact: 'oci://registry.example/graphs/g:1', sha256: pinned, modules: [{ module: 'temperature:1.0.0', sha256: pinned }] };
    expect(errorsFor(artifact).errors).toEqual([]);
    expect(errorsFor({ ...artifact, sha256: undefined }).errors).toContainEqual(expect.objectContaining({ path: 'workloads.g.graph.sha256' }));
    expect(errorsFor({ ...artifact, ...windowGraph() }).errors).toContainEqual(expect.objectContaining({ path: 'workloads.g.graph.artifact', message: expect.stringMatching(/not both/) }));
    expect(errorsFor({ ...windowGraph(), modules: [{ module: 'temperature:1.0.0', sha256: pinned }, modules[1]] }).errors)
      .toContainEqual(expect.objectContaining({ path: 'workloads.g.graph.modules.0.source' }));
  });

  it('refuse a workload with both source and graph, or neither', () => {
    expect(errorsFor({ ...windowGraph(), modules }, { source: 'file://x.wasm' }).errors).toContainEqual(expect.objectContaining({ path: 'workloads.g.graph', message: expect.stringMatching(/not both/) }));
    const neither = validateDesired({ schemaVersion: '1.0', workloads: { n: { config: {} } } }, { allowUnpinned: true });
    expect(neither.errors).toContainEqual(expect.objectContaining({ path: 'workloads.n.source', message: expect.stringMatching(/source is required \(or graph/) }));
  });
});

describe('graph YAML (artifacts, wasmhost validate)', () => {
  it('parses AIO-shaped YAML and checks it', () => {
    expect(parseGraphYaml(yaml('temperature-window'), undefined).problems).toEqual([]);
    expect(parseGraphYaml(yaml('temperature-window'), []).problems).toContainEqual(expect.objectContaining({ message: expect.stringMatching(/no entry in modules/) }));
  });

  it('refuses YAML that is not a graph, or an alias bomb, with a clear problem', () => {
    expect(parseGraphYaml(Buffer.from('operations: [\n'), undefined).problems[0]!.message).toMatch(/not valid YAML/);
    expect(parseGraphYaml(Buffer.from('hello: world\n'), undefined).problems.map((p) => p.path)).toEqual(expect.arrayContaining(['operations', 'connections']));
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
    const started = performance.now();
    expect(parseGraphYaml(Buffer.from(bomb), undefined).problems[0]!.message).toMatch(/not valid YAML|alias/i);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
