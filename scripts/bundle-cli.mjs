// Bundles the CLI into dist/cli/wasmhost.cjs (the `wasmhost` bin): `wasmhost run` and the light
// commands load one CommonJS file instead of ~70 ES modules and the ES module views of Node's own
// modules (node:fs's alone loads streams and readline). `start`, `new/build/test`, `push`, `pull` and `validate`
// stay separate ES modules under dist/cli/, loaded when named.
// Every bundled file keeps its own location for `import.meta.url` (worker, runner and compiler entry
// points, the egress guard, the preview1 adapter, package roots), relative to the bundle so a moved
// install still works. Run by `npm run build` after tsc.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const OUT = join(ROOT, 'dist/cli/wasmhost.cjs');
/** Commands whose modules pull in the SDK, the broker, the transpiler, the registry client or the schema. */
const SEPARATE = /^\.\/(start|devloop|push|pull|validate)\.js$/;

/** The bundle's own file URL, set once at its top (a `require` inside a module could be that module's own). */
const BUNDLE_URL = '__wasmhostBundleUrl';

const ownLocation = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.m?js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const fromBundle = relative(dirname(OUT), args.path);
      const url = `new URL(${JSON.stringify(fromBundle)}, ${BUNDLE_URL}).href`;
      return { contents: text.replaceAll('import.meta.url', url), loader: 'js' };
    });
  },
};

const separateCommands = {
  name: 'separate-commands',
  setup(b) {
    b.onResolve({ filter: SEPARATE }, (args) => (args.importer.endsWith('/dist/cli/main.js') ? { path: args.path, external: true } : undefined));
  },
};

await build({
  entryPoints: [join(ROOT, 'dist/cli/main.js')],
  outfile: OUT,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  keepNames: true,
  banner: { js: `'use strict'; const ${BUNDLE_URL} = require('node:url').pathToFileURL(__filename).href;` },
  plugins: [ownLocation, separateCommands],
  logLevel: 'warning',
});
