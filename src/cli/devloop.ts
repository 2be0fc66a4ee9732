import { relative } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { buildProject, JS_ENGINES, readProject, scaffold, testProject, TEMPLATES, type JsEngine, type Template } from '../devloop/index.js';
import { usage } from './args.js';

function parse(argv: string[], options: ParseArgsConfig['options'] = {}) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options });
  } catch (err) {
    throw usage((err as Error).message);
  }
}

/** `wasmhost new <dir> [--template T] [--name N] [--engine E]`. */
export async function newCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { template: { type: 'string' }, name: { type: 'string' }, engine: { type: 'string' } });
  const template = (values.template ?? 'handler-ts') as Template;
  const engine = values.engine as JsEngine | undefined;
  if (positionals.length !== 1 || !TEMPLATES.includes(template) || (engine !== undefined && !JS_ENGINES.includes(engine))) {
    throw usage(`usage: wasmhost new <dir> [--template ${TEMPLATES.join(' | ')}] [--name <name>] [--engine ${JS_ENGINES.join(' | ')}]`);
  }
  const dir = scaffold(positionals[0]!, template, values.name as string | undefined, engine);
  const shown = relative(process.cwd(), dir) || '.';
  process.stdout.write(`created ${shown} (${template})\nnext:\n  cd ${shown}\n  npm install\n  npm run build\n  npm test\n  npm start\n`);
  return 0;
}

/** `wasmhost build [dir] [--engine quickjs|spidermonkey]`: prints the component's path, size and sha256. */
export async function buildCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { engine: { type: 'string' } });
  const engine = values.engine as JsEngine | undefined;
  if (positionals.length > 1 || (engine !== undefined && !JS_ENGINES.includes(engine))) throw usage(`usage: wasmhost build [dir] [--engine ${JS_ENGINES.join(' | ')}]`);
  const result = await buildProject(readProject(positionals[0]), engine);
  const size = result.bytes >= 1048576 ? `${(result.bytes / 1048576).toFixed(1)} MB` : `${(result.bytes / 1024).toFixed(1)} KB`;
  process.stdout.write(`${result.rebuilt ? 'built' : 'up to date:'} ${relative(process.cwd(), result.output)} (${size}) sha256:${result.sha256}\n`);
  return 0;
}

/** `wasmhost test [dir]`: exit 1 when any test fails. */
export async function testCommand(argv: string[]): Promise<number> {
  const { positionals } = parse(argv);
  if (positionals.length > 1) throw usage('usage: wasmhost test [dir]');
  const report = await testProject(readProject(positionals[0]));
  process.stdout.write(`${report.lines.join('\n')}\n${report.passed} passed, ${report.failed} failed\n`);
  return report.failed ? 1 : 0;
}
