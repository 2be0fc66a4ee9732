// `npm run dev:edge`: the module in IoT Edge mode against the edgeHub emulator, with the two samples
// deployed through the twin, and a prompt to act as IoT Hub would:
//   patch {"workloads":{"sensor":{"timerMs":500}}}    desired-property patch (null deletes)
//   method listWorkloads                              direct method, payload optional (JSON)
//   input sensors {"machine":{"temperature":99}}      message on an edgeHub input
//   twin | outputs | restart-hub | quit
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { EdgeHubEmulator } from './emulator.mjs';

const root = resolve(new URL('../..', import.meta.url).pathname);
const dataDir = join(root, '.wasmhost-edge');
mkdirSync(join(dataDir, 'wasm'), { recursive: true });
const sample = (name) => {
  copyFileSync(join(root, 'guest-modules/dist', `${name}.wasm`), join(dataDir, 'wasm', `${name}.wasm`));
  return { source: `file://wasm/${name}.wasm`, sha256: createHash('sha256').update(readFileSync(join(dataDir, 'wasm', `${name}.wasm`))).digest('hex') };
};

const hub = await EdgeHubEmulator.start();
await hub.setDesired({
  schemaVersion: '1.0',
  workloads: {
    sensor: { ...sample('temperature-sensor'), timerMs: 2000, config: { machine: 'press-1', minTemp: '21', maxTemp: '40' }, limits: { memoryMb: 128 } },
    filter: { ...sample('threshold-filter'), subscribe: ['plant/+/temperature'], inputs: ['sensors'], config: { threshold: '30' }, limits: { memoryMb: 128 } },
  },
});
hub.onOutput((m) => console.log(`[edgeHub] output ${m.output} from ${m.properties.workload}: ${m.body.toString().slice(0, 200)}`));
const module = spawn(process.execPath, [join(root, 'dist/cli/wasmhost.cjs'), 'start'], {
  env: { PATH: process.env.PATH, ...hub.env(), WASMHOST_DATA_DIR: dataDir, RuntimeLogLevel: process.env.RuntimeLogLevel ?? 'info' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
console.log(`[edgeHub] emulator on 127.0.0.1:${hub.port}; module pid ${module.pid}. Commands: patch, method, input, twin, outputs, restart-hub, quit`);

const rl = createInterface({ input: process.stdin });
const quit = async () => {
  module.kill('SIGTERM');
  await new Promise((r) => module.once('exit', r));
  await hub.close();
  process.exit(0);
};
rl.on('line', async (line) => {
  const [command, arg, ...rest] = line.trim().split(/\s+/);
  const parse = (text) => (text ? JSON.parse(text) : undefined);
  try {
    if (command === 'patch') console.log(`[edgeHub] desired version ${await hub.patchDesired(parse([arg, ...rest].join(' ')))}`);
    else if (command === 'method') console.log(JSON.stringify(await hub.invokeMethod(arg, parse(rest.join(' '))), null, 2));
    else if (command === 'input') await hub.sendInput(arg, rest.join(' '));
    else if (command === 'twin') console.log(JSON.stringify({ desired: hub.desired, reported: hub.reported }, null, 2));
    else if (command === 'outputs') console.log(`[edgeHub] ${hub.outputs.length} messages`);
    else if (command === 'restart-hub') await hub.stop().then(() => new Promise((r) => setTimeout(r, 2000))).then(() => hub.listen());
    else if (command === 'quit') await quit();
    else if (command) console.log('commands: patch <json>, method <name> [json], input <name> <body>, twin, outputs, restart-hub, quit');
  } catch (err) {
    console.log(`[edgeHub] ${err.message}`);
  }
});
rl.on('close', quit);
process.on('SIGINT', quit);
