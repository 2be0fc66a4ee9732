// The edgeHub emulator as its own process, for fault tests that kill it (kill -9) and start it again:
//   node process.mjs <port> <dir> <desired.json> <record.jsonl>
// Every output message is appended to <record.jsonl> as it arrives ({id, workload, output, body}).
// A SIGKILL can land mid-append: a record torn that way was never acknowledged, so on start the torn
// line is closed off and readers skip it.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { EdgeHubEmulator } from './emulator.mjs';

const [port, dir, desiredFile, recordFile] = process.argv.slice(2);
if (existsSync(recordFile) && !readFileSync(recordFile, 'utf8').endsWith('\n')) appendFileSync(recordFile, '\n');
const hub = await EdgeHubEmulator.start({ port: Number(port), dir });
hub.onOutput((m) => appendFileSync(recordFile, `${JSON.stringify({ id: m.messageId, workload: m.properties.workload, output: m.output, body: m.body.toString() })}\n`));
await hub.setDesired(JSON.parse(readFileSync(desiredFile, 'utf8')));
process.stdout.write(`ready ${hub.port}\n${JSON.stringify(hub.env())}\n`);
process.on('SIGTERM', () => void hub.close().then(() => process.exit(0)));
