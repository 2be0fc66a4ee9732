import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { bodyText, type OutboundMessage, type TelemetrySink } from '../base/index.js';

/** One line per message, as local mode prints and stores it. */
export function messageToJson(m: OutboundMessage, time = new Date()): string {
  const text = bodyText(m.msg.body);
  let body: unknown = text;
  if (m.msg.contentType === 'application/json') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  } else if (Buffer.from(text, 'utf8').compare(Buffer.from(m.msg.body)) !== 0) {
    body = { base64: Buffer.from(m.msg.body).toString('base64') };
  }
  return JSON.stringify({
    time: time.toISOString(),
    workload: m.workload,
    output: m.output,
    contentType: m.msg.contentType ?? null,
    properties: Object.fromEntries(m.msg.properties),
    body,
  });
}

/** Local mode's "edgeHub": JSON lines on stdout and in `<data>/outputs/<output>.jsonl`. */
export class LocalSink implements TelemetrySink {
  readonly #files = new Map<string, WriteStream>();

  constructor(private readonly outputsDir: string, private readonly write: (line: string) => void = (l) => process.stdout.write(l)) {
    mkdirSync(outputsDir, { recursive: true });
  }

  send(message: OutboundMessage): void {
    const line = messageToJson(message) + '\n';
    this.write(line);
    let file = this.#files.get(message.output);
    if (!file) {
      file = createWriteStream(join(this.outputsDir, `${message.output}.jsonl`), { flags: 'a' });
      this.#files.set(message.output, file);
    }
    file.write(line);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#files.values()].map((f) => new Promise((r) => f.end(r))));
    this.#files.clear();
  }
}
