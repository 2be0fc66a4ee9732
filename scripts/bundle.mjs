// Bundles the two entry points that start often into one CommonJS file each, after tsc (`npm run build`):
// - dist/cli/wasmhost.cjs, the `wasmhost` bin: `wasmhost run` and the light commands load one file
//   instead of ~70 ES modules and the ES module views of Node's own modules (node:fs's alone loads
//   streams and readline). `start`, `new/build/test`, `push`, `pull` and `validate` stay separate ES
//   modules under dist/cli/, loaded when named.
// - dist/runtime/worker.cjs, a workload's worker thread: every worker parses and keeps one minified
//   file rather than ~50 modules (BENCHMARKS.md: 2-4 MB less a workload, faster starts).
// Every bundled file keeps its own location for `import.meta.url` (worker, runner and compiler entry
// points, the egress guard, the preview1 adapter, package roots), relative to the bundle so a moved
// install still works.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
/** The bundle's own file URL, set once at its top (a `require` inside a module could be that module's own). */
const BUNDLE_URL = '__wasmhostBundleUrl';
/** CLI commands whose modules pull in the SDK, the broker, the transpiler, the registry client or the schema. */
const SEPARATE_COMMANDS = /^\.\/(start|devloop|push|pull|validate)\.js$/;

const ownLocation = (out) => ({
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.m?js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const fromBundle = relative(dirname(out), args.path);
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromBundle)}, ${BUNDLE_URL}).href`), loader: 'js' };
    });
  },
});

const separateCommands = {
  name: 'separate-commands',
  setup(b) {
    b.onResolve({ filter: SEPARATE_COMMANDS }, (args) => (args.importer.endsWith('/dist/cli/main.js') ? { path: args.path, external: true } : undefined));
  },
};

async function bundle(entry, out, plugins = []) {
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile: join(ROOT, out),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    keepNames: true,
    banner: { js: `'use strict'; const ${BUNDLE_URL} = require('node:url').pathToFileURL(__filename).href;` },
    plugins: [ownLocation(join(ROOT, out)), ...plugins],
    logLevel: 'warning',
  });
}

await Promise.all([
  bundle('dist/cli/main.js', 'dist/cli/wasmhost.cjs', [separateCommands]),
  bundle('dist/runtime/worker/main.js', 'dist/runtime/worker.cjs'),
]);
