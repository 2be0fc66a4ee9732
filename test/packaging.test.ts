// No Docker engine runs here: these check that the packaging files are valid and agree with each other
// and with the code, and replay the image's install and start steps in a temporary folder.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateDesired, mergePatch } from '../dist/spec/index.js';
import { guestPath, ROOT, tempDir, waitFor } from './helpers.js';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const json = (file: string) => JSON.parse(read(file));
const pkg = json('package.json');
const dockerfile = read('Dockerfile');
const template = json('deployment.template.json');
const modules = template.modulesContent;
/** What iotedgedev would substitute from .env: plausible values for the placeholders. */
const substitute = (value: unknown) =>
  JSON.parse(JSON.stringify(value).replaceAll('${CONTAINER_REGISTRY_ADDRESS}', 'myacr.azurecr.io').replace(/\$\{[A-Z0-9_]+_SHA256\}/g, 'a'.repeat(64)));
/** Output names the sample workloads send to, read from their sources. */
/** The outputs the two deployed samples send (from their sources). */
const sampleOutputs = ['temperature-sensor', 'threshold-filter']
  .map((dir) => read(`guest-modules/${dir}/src/index.ts`))
  .flatMap((src) => [...src.matchAll(/send\('([^']+)'/g)].map((m) => m[1]));

describe('Dockerfile', () => {
  it('is multi-stage on a current LTS Node, installs for production and runs as the non-root node user', () => {
    const froms = dockerfile.match(/^FROM .+$/gm) ?? [];
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(Number(/ARG NODE_IMAGE=node:(\d+)/.exec(dockerfile)?.[1])).toBeGreaterThanOrEqual(24);
    expect(dockerfile).toMatch(/npm install --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/NODE_ENV=production/);
    expect(dockerfile).toContain(`CMD ["node", "${(pkg.bin as Record<string, string>).wasmhost}", "start"]`);
    expect(dockerfile).toContain('WASMHOST_DATA_DIR=/var/lib/wasmhost');
    expect(dockerfile).toMatch(/^VOLUME \["\/var\/lib\/wasmhost"\]$/m);
  });
  it('copies what `npm run build` reads into the build stage', () => {
    const scripts = [...String((pkg.scripts as Record<string, string>).build).matchAll(/node (scripts\/\S+)/g)].map((m) => m[1]!);
    expect(scripts).toContain('scripts/bundle.mjs');
    for (const script of scripts) expect(dockerfile).toMatch(new RegExp(`^COPY ${script.replace(/[./]/g, '\\$&')} \\./scripts/$`, 'm'));
  });
  it('copies everything the runtime reads at run time', () => {
    for (const dir of ['wit', 'vendor']) expect(dockerfile).toMatch(new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'wit', 'vendor']));
  });
});

/**
 * Architectures each official Node image line is published for (Docker Hub's `node` manifest lists;
 * Node 24 dropped 32-bit ARM: nodejs/node#58071, nodejs/docker-node#2244). IoT Edge platform names.
 */
const NODE_IMAGE_PLATFORMS: Record<string, readonly string[]> = {
  '22': ['amd64', 'arm64v8', 'arm32v7'],
  '24': ['amd64', 'arm64v8'],
};

describe('module.json', () => {
  const moduleJson = json('module.json');
  const platforms = moduleJson.image.tag.platforms as Record<string, string>;
  const nodeLine = (file: string) => /^ARG NODE_IMAGE=node:(\d+)-/m.exec(read(file))?.[1] ?? 'none';

  it('builds every platform from a Dockerfile whose Node image is published for that architecture', () => {
    for (const [platform, file] of Object.entries(platforms)) {
      expect({ platform, line: nodeLine(file), supported: NODE_IMAGE_PLATFORMS[nodeLine(file)]?.includes(platform) ?? false }).toEqual({ platform, line: nodeLine(file), supported: true });
    }
  });

  it('the Dockerfiles differ only in their Node line', () => {
    const files = [...new Set(Object.values(platforms))];
    const bodies = files.map((f) => read(f).replace(/^ARG NODE_IMAGE=.*$/m, '').replace(/^#.*$/gm, ''));
    for (const body of bodies) expect(body).toBe(bodies[0]);
  });

  it('engines allows the oldest Node line shipped (the code uses nothing newer)', () => {
    const oldestShipped = Math.min(...Object.values(platforms).map((f) => Number(nodeLine(f))));
    const engineMinimum = Number(/>=\s*(\d+)/.exec(pkg.engines.node)?.[1]);
    expect(engineMinimum).toBeLessThanOrEqual(oldestShipped);
  });

  it('builds every IoT Edge platform from a Dockerfile that exists, at the package version', () => {
    expect(Object.keys(moduleJson.image.tag.platforms).sort()).toEqual(['amd64', 'arm32v7', 'arm64v8']);
    for (const file of Object.values(moduleJson.image.tag.platforms) as string[]) expect(() => read(file)).not.toThrow();
    expect(moduleJson.image.tag.version).toBe(pkg.version);
    expect(moduleJson.image.repository).toBe('${CONTAINER_REGISTRY_ADDRESS}/wasmhost');
  });
});

describe('deployment.template.json', () => {
  const wasmhost = modules.$edgeAgent['properties.desired'].modules.wasmhost;
  it('has the system modules and wasmhost with its image, data volume bind and log config', () => {
    expect(Object.keys(modules.$edgeAgent['properties.desired'].systemModules).sort()).toEqual(['edgeAgent', 'edgeHub']);
    expect(wasmhost.settings.image).toBe('${MODULES.wasmhost}');
    const host = wasmhost.settings.createOptions.HostConfig;
    expect(host.Binds).toEqual(['wasmhost-data:/var/lib/wasmhost']);
    expect(host.LogConfig.Type).toBe('json-file');
  });
  it('routes only outputs that the deployed workloads really send, to $upstream', () => {
    const routes = Object.values(modules.$edgeHub['properties.desired'].routes) as string[];
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) {
      const [, output] = /^FROM \/messages\/modules\/wasmhost\/outputs\/(\w+) INTO \$upstream$/.exec(route) ?? [];
      expect(sampleOutputs).toContain(output);
    }
    expect(sampleOutputs.sort()).toEqual(['alerts', 'temperature']);
  });
  it('deploys a wasmhost twin that passes wasmhost validate', () => {
    const result = validateDesired(substitute(modules.wasmhost['properties.desired']), { allowUnpinned: false });
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect([...result.workloads.keys()].sort()).toEqual(['filter', 'sensor']);
  });
  it('the layered example adds one workload and one broker client that validate when merged onto the base twin', () => {
    const layered = json('deployments/layered.add-workload.json').modulesContent.wasmhost as Record<string, unknown>;
    // A layered deployment's property path, as IoT Hub merges it: properties.desired.<a>.<b>... = value.
    let patch: Record<string, unknown> = {};
    for (const [path, value] of Object.entries(layered)) {
      const keys = path.split('.').slice(2);
      expect(keys.length).toBeGreaterThan(0);
      patch = mergePatch(patch, keys.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), substitute(value) as Record<string, unknown>));
    }
    const result = validateDesired(mergePatch(substitute(modules.wasmhost['properties.desired']), patch), { allowUnpinned: false });
    expect(result.errors).toEqual([]);
    expect([...result.workloads.keys()].sort()).toEqual(['filter', 'filter-line2', 'sensor']);
    expect([...result.brokerClients.keys()]).toEqual(['line2-dashboard']);
  });
  it('exposes the broker\'s ports on the module network (publish them with PortBindings to reach them from outside)', () => {
    expect(Object.keys(wasmhost.settings.createOptions.ExposedPorts).sort()).toEqual(['1883/tcp', '9001/tcp']);
    expect(dockerfile).toMatch(/^EXPOSE 9600 1883 9001$/m);
  });
});

describe('image smoke test (the Dockerfile\'s install and start steps, replayed)', () => {
  const tmp = tempDir('wasmhost-image-');
  afterAll(() => tmp.cleanup());

  it('a production install (no dev dependencies) runs a preview1 command and starts, as a non-root user', async () => {
    const app = join(tmp.path, 'app');
    mkdirSync(app);
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, file), join(app, file));
    execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, stdio: 'ignore', timeout: 240_000 });
    for (const dir of ['dist', 'wit', 'vendor']) cpSync(join(ROOT, dir), join(app, dir), { recursive: true });
    expect(() => readFileSync(join(app, 'node_modules/@bytecodealliance/jco/package.json'))).toThrow(); // dev-only
    const data = join(tmp.path, 'data');
    mkdirSync(join(data, 'wasm'), { recursive: true });
    copyFileSync(guestPath('hello'), join(data, 'wasm', 'hello.wasm'));
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}; // root here: drop to nobody, as USER node does
    const desired = join(data, 'desired.json');
    writeFileSync(desired, JSON.stringify({ schemaVersion: '1.0', workloads: { hello: { source: 'file://wasm/hello.wasm', restartPolicy: 'never' } } }));
    if (asUser.uid) execFileSync('chown', ['-R', '65534:65534', tmp.path]);
    const env = { PATH: process.env.PATH, NODE_ENV: 'production', WASMHOST_DATA_DIR: data, HOME: tmp.path };

    const run = spawnSync(process.execPath, ['dist/cli/wasmhost.cjs', 'run', join(data, 'wasm', 'hello.wasm')], { cwd: app, env, encoding: 'utf8', ...asUser });
    expect(run.stderr).toBe('hello: sent 3 lines\n');
    expect(run.status).toBe(0);

    const host = spawn(process.execPath, ['dist/cli/wasmhost.cjs', 'start'], { cwd: app, env: { ...env, WASMHOST_DESIRED_FILE: desired, WASMHOST_ALLOW_UNPINNED: 'true', WASMHOST_ADMIN_PORT: '0' }, ...asUser });
    let out = '';
    host.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor('telemetry from the command', () => out.includes('"output":"hello"'), 30_000);
    host.kill('SIGTERM');
    expect(await new Promise((r) => host.once('exit', r))).toBe(0);
  }, 300_000);
});
