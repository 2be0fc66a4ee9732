#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { errorText, isWasmhostError } from '../errors.js';

const USAGE = `usage: wasmhost <command>
  start                                   run the host (IoT Edge mode when IOTEDGE_* is set, else local mode)
  run <file.wasm> [--config k=v]... [--timer-ms N] [--allow-host h]... [--dir HOST::GUEST]...
                  [--env K=V]... [--memory-mb N] [-- args...]
                                          run one workload in the foreground, as wasmtime run does
  validate <desired.json>                 check a desired document and print every error
  inspect <file.wasm>                     print kind, imports and exports
  push <file.wasm> oci://registry/repo:tag
                                          publish a wasm artifact to an OCI registry, print its sha256
  pull <source> [--sha256 X]              fetch a source into the cache, print its sha256
  new <dir> [--template handler-ts|http-ts|command-c] [--name N]
                                          a workload project: source, wit/, types, tests, scripts
  build [dir]                             build the project's dist/<name>.wasm (size, sha256)
  test [dir]                              run the project's tests/*.test.json against it`;

export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

type Command = (args: string[]) => Promise<number>;

/** Loaded when named: `run` must not pay for the IoT Edge SDK, the broker or OpenTelemetry that `start` loads. */
const commands: Record<string, () => Promise<Command>> = {
  start: async () => {
    const { startCommand } = await import('./start.js');
    return () => startCommand(VERSION);
  },
  run: async () => (await import('./run.js')).runCommand,
  validate: async () => (await import('./validate.js')).validateCommand,
  inspect: async () => (await import('./inspect.js')).inspectCommand,
  push: async () => (await import('./push.js')).pushCommand,
  pull: async () => (await import('./pull.js')).pullCommand,
  new: async () => (await import('./devloop.js')).newCommand,
  build: async () => (await import('./devloop.js')).buildCommand,
  test: async () => (await import('./devloop.js')).testCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!load) {
    process.stderr.write(`wasmhost: unknown command ${JSON.stringify(name)}\n${USAGE}\n`);
    return 2;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // User mistakes are one clear line; a stack only for what is truly a bug.
    process.stderr.write(`wasmhost: ${isWasmhostError(err, 'WH_ERR_CLI_USAGE') ? err.message : errorText(err)}\n`);
    if (!isWasmhostError(err) && process.env.WASMHOST_DEBUG) console.error(err);
    process.exitCode = isWasmhostError(err, 'WH_ERR_CLI_USAGE') ? 2 : 1;
  },
);
