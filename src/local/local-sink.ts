import { createWriteStream, mkdirSync, openSync, renameSync, statSync, type WriteStream } from 'node:fs';
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

/** Output files kept open at once (least recently used closed first): a guest may name many outputs. */
const MAX_OPEN_FILES = 16;
/** Past this an output file is moved to `<output>.jsonl.1` (replacing the one before) and started anew. */
export const MAX_OUTPUT_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Local mode's "edgeHub": JSON lines on stdout and in `<data>/outputs/<output>.jsonl`. Bounded: at
 * most MAX_OPEN_FILES files open, each file at most MAX_OUTPUT_FILE_BYTES plus one older generation.
 */
export class LocalSink implements TelemetrySink {
  /** Open files by output name; Map order is the use order (oldest first). */
  readonly #files = new Map<string, { stream: WriteStream; bytes: number }>();

  constructor(
    private readonly outputsDir: string,
    private readonly write: (line: string) => void = (l) => process.stdout.write(l),
    private readonly maxFileBytes = MAX_OUTPUT_FILE_BYTES,
  ) {
    mkdirSync(outputsDir, { recursive: true });
  }

  send(message: OutboundMessage): void {
    const line = messageToJson(message) + '\n';
    this.write(line);
    const file = this.#open(message.output, Buffer.byteLength(line));
    file.stream.write(line);
    file.bytes += Buffer.byteLength(line);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#files.values()].map((f) => new Promise((r) => f.stream.end(r))));
    this.#files.clear();
  }

  /** The file for `output`, opened (or rotated) so that `adding` more bytes stay under the cap. */
  #open(output: string, adding: number): { stream: WriteStream; bytes: number } {
    const path = join(this.outputsDir, `${output}.jsonl`);
    let file = this.#files.get(output);
    this.#files.delete(output); // re-inserted below: most recently used last
    if (file && file.bytes + adding > this.maxFileBytes) {
      file.stream.end();
      renameSync(path, `${path}.1`);
      file = undefined;
    }
    if (!file) {
      let bytes = 0;
      try {
        bytes = statSync(path).size;
      } catch {
        bytes = 0;
      }
      if (bytes + adding > this.maxFileBytes) {
        renameSync(path, `${path}.1`);
        bytes = 0;
      }
      // Opened now (not when the stream gets to it), so a rotation can always rename the file.
      file = { stream: createWriteStream(path, { fd: openSync(path, 'a') }), bytes };
    }
    this.#files.set(output, file);
    if (this.#files.size > MAX_OPEN_FILES) {
      const [oldest, least] = this.#files.entries().next().value!;
      least.stream.end();
      this.#files.delete(oldest);
    }
    return file;
  }
}
