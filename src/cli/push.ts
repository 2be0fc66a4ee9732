import { readFile } from 'node:fs/promises';
import { credentialsFor, parseSource, RegistryClient } from '../fetch/index.js';
import { readSettings } from '../settings.js';
import { assertWasm } from '../runtime/binary.js';
import { usage } from './args.js';
import { formatGraphProblem, GRAPH_FILE, parseGraphYaml } from '../spec/index.js';
import { WasmhostError } from '../errors.js';

/**
 * `wasmhost push <file.wasm> oci://registry/repo:tag`: publishes a CNCF wasm artifact, prints its digests.
 * A `.yaml` file is a data flow graph: checked, then published as AIO publishes one (its graph artifact type).
 */
export async function pushCommand(args: string[]): Promise<number> {
  const [file, target] = args;
  if (!file || !target || args.length !== 2) throw usage('usage: wasmhost push <file.wasm | graph.yaml> oci://registry/repository:tag');
  const parsed = parseSource(target);
  if (parsed.kind !== 'oci' || parsed.reference.startsWith('sha256:')) throw usage('push needs an oci://registry/repository:tag target');
  const bytes = await readFile(file).catch(() => {
    throw usage(`${file}: no such file`);
  });
  const isGraph = GRAPH_FILE.test(file);
  if (isGraph) {
    const { problems } = parseGraphYaml(bytes, undefined);
    if (problems.length) throw new WasmhostError('WH_ERR_GRAPH_INVALID', `${file}: ${problems.map(formatGraphProblem).join('; ')}`);
  } else {
    assertWasm(bytes);
  }
  const settings = readSettings();
  const client = new RegistryClient(parsed.registry, { credentials: credentialsFor(parsed.registry, settings.registryAuthFile), allowHttp: settings.allowHttp, timeoutMs: 120_000 });
  const { manifestDigest, layerDigest } = await client.push(parsed.repository, parsed.reference, bytes, isGraph ? 'graph' : 'wasm');
  process.stdout.write(`pushed ${target}\nsha256: ${layerDigest}\nmanifest: sha256:${manifestDigest}\n`);
  return 0;
}
