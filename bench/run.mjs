// `npm run bench`: every benchmark, printed as markdown for BENCHMARKS.md.
import { cpus } from 'node:os';
import { runtimeBench } from './runtime.mjs';

console.log(`Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${new Date().toISOString()}\n`);
console.log(await runtimeBench());
