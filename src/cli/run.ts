import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorText, isWasmhostError } from '../errors.js';
import { messageToJson } from '../local/local-sink.js';
import { createLogger } from '../ops/logger.js';
import { GuestFatalError, importsKv, type Effect, type WorkloadInstance } from '../runtime/index.js';
import { EDGEHUB_MAX_MESSAGE_BYTES } from '../base/index.js';
import { readSettings } from '../settings.js';
import { pairs, positiveInt, usage } from './args.js';
import { loadForCli } from './load.js';

/** wasmtime's status for a trapped guest (128 + SIGABRT), so scripts can tell a trap from an exit code. */
const TRAP_EXIT = 134;

/**
 * `wasmhost run`: one workload in the foreground. A command's stdout and stderr pass straight through
 * and its exit code becomes ours; a handler runs init and its timer until Ctrl-C, telemetry as JSON lines.
 */
export async function runCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', multiple: true },
        env: { type: 'string', multiple: true },
        dir: { type: 'string', multiple: true },
        'allow-host': { type: 'string', multiple: true },
        'timer-ms': { type: 'string' },
        'memory-mb': { type: 'string' },
        listen: { type: 'string' },
      },
    });
  } catch (err) {
    throw usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  const [file, ...guestArgs] = positionals;
  if (!file) throw usage('usage: wasmhost run <file.wasm> [options] [-- args...]');
  const dirs = pairs(values.dir, '--dir', '::');
  const config = pairs(values.config, '--config');
  const env = pairs(values.env, '--env');
  const memoryMb = positiveInt(values['memory-mb'], '--memory-mb', 256);
  const timerMs = positiveInt(values['timer-ms'], '--timer-ms', 1000);
  const listen = values.listen === undefined ? undefined : listenAddress(values.listen);
  const log = createLogger(readSettings().logLevel, (line) => process.stderr.write(line));

  const { engine, compiled } = await loadForCli(file);
  // kv lives as long as this run, for a guest that imports it (most commands do not: no directory to make and remove).
  const kvDir = importsKv(compiled.meta.imports) ? mkdtempSync(join(tmpdir(), 'wasmhost-run-kv-')) : undefined;
  // As wasmtime does, the guest's argv[0] names its program: the file, without folders or `.wasm`.
  const name = basename(file).replace(/\.wasm$/, '') || 'run';
  const onEffect = (e: Effect) => {
    if (e.type === 'telemetry') process.stdout.write(`${messageToJson({ workload: name, digest: compiled.digest, output: e.output, msg: e.msg })}\n`);
    else if (e.type === 'publish') log.info(`publish ${e.topic} (${e.msg.body.byteLength} bytes)`);
    else if (e.type === 'log') log.log(e.level, `guest: ${e.message}`);
    else if (e.type === 'refused') log.warn(`${e.what} refused (${e.reason}) x${e.count}: ${e.detail}`);
  };
  // A command keeps the default Ctrl-C: it may run on this thread, where no handler would get a turn.
  const signals = compiled.meta.kind === 'command' ? undefined : watchStopSignals();
  try {
    const instance = await engine.start(
      compiled,
      {
        workload: name,
        memoryMb,
        callTimeoutMs: 10_000,
        messagesPerSecond: 10_000,
        maxMessageBytes: EDGEHUB_MAX_MESSAGE_BYTES,
        config,
        env,
        args: guestArgs,
        // --dir HOST::GUEST grants exactly the directories the CLI user names.
        preopens: Object.fromEntries(Object.entries(dirs).map(([host, guest]) => [guest, host])),
        allowedHosts: values['allow-host'] ?? [],
        kvDir,
        listen,
        inheritStdio: true,
        // A command runs to its end with no deadline: on this thread it skips a thread start and a second shim load.
        sameThread: compiled.meta.kind === 'command',
      },
      {
        effects: (list) => list.forEach(onEffect),
        stdout: () => undefined,
        stderr: () => undefined,
        ended: () => undefined,
        requestFailed: (error) => log.warn(`an http request failed, answered 500: ${error}`),
      },
    );
    if (compiled.meta.kind === 'command') {
      const code = await instance.call({ fn: 'run' }).then(
        () => 0,
        (err: unknown) => (isWasmhostError(err, 'WH_ERR_GUEST') ? 1 : exitCodeOf(err)),
      );
      await instance.close();
      return code;
    }
    if (compiled.meta.kind === 'http') {
      log.info(`serving http on http://${listen!.host}:${listen!.port}/ until Ctrl-C`);
      return await untilStopped(instance, signals!.requested);
    }
    return await runHandler(instance, timerMs, signals!.requested);
  } finally {
    signals?.dispose();
    await engine.close();
    if (kvDir) rmSync(kvDir, { recursive: true, force: true });
  }
}

async function runHandler(instance: WorkloadInstance, timerMs: number, stopRequested: Promise<void>): Promise<number> {
  const init = instance.call({ fn: 'init' }).then(
    () => undefined,
    (err: unknown) => err,
  );
  const initError = await Promise.race([init, stopRequested.then(() => 'stopped' as const)]);
  if (initError === 'stopped') {
    await instance.stop();
    return 0;
  }
  if (initError !== undefined) {
    process.stderr.write(`wasmhost: init failed: ${errorText(initError)}\n`);
    await instance.stop();
    return isWasmhostError(initError, 'WH_ERR_GUEST') ? 1 : exitCodeOf(initError);
  }
  let timer: NodeJS.Timeout | undefined;
  return untilStopped(instance, stopRequested, (finish) => {
    timer = setInterval(() => {
      if (instance.queued > 0) return;
      instance.call({ fn: 'onTimer' }).catch((err: unknown) => {
        if (isWasmhostError(err, 'WH_ERR_GUEST')) return process.stderr.write(`wasmhost: on-timer returned err: ${err.message}\n`);
        finish(exitCodeOf(err));
      });
    }, timerMs);
  }, () => clearInterval(timer));
}

/**
 * Runs until Ctrl-C or SIGTERM (exit 0) or until `start`'s work calls `finish` with a status; then
 * `stopping` ends that work (once) and the instance stops.
 */
function untilStopped(instance: WorkloadInstance, stopRequested: Promise<void>, start?: (finish: (code: number) => void) => void, stopping?: () => void): Promise<number> {
  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      stopping?.();
      void instance.stop().then(() => resolve(code));
    };
    void stopRequested.then(() => finish(0));
    start?.(finish);
  });
}

/**
 * SIGINT and SIGTERM from the moment a long-running run has something to undo (its worker, its kv
 * directory), so a Ctrl-C that lands during start-up or init still ends it cleanly.
 */
function watchStopSignals(): { requested: Promise<void>; dispose(): void } {
  let onSignal = () => {};
  const requested = new Promise<void>((resolve) => (onSignal = () => resolve()));
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  return { requested, dispose: () => void process.off('SIGINT', onSignal).off('SIGTERM', onSignal) };
}

/** `--listen [host:]port`, as `wasmtime serve --addr` takes it; the host defaults to loopback. */
function listenAddress(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  const host = at >= 0 ? value.slice(0, at) : '127.0.0.1';
  const port = Number(at >= 0 ? value.slice(at + 1) : value);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) throw usage(`--listen expects [HOST:]PORT, got ${JSON.stringify(value)}`);
  return { host, port };
}

function exitCodeOf(err: unknown): number {
  if (err instanceof GuestFatalError && err.fatal.reason === 'exit') return err.fatal.exitCode ?? 1;
  process.stderr.write(`wasmhost: ${errorText(err)}\n`);
  return TRAP_EXIT;
}
