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

/** How long a line waits for others to share its write. */
export const FLUSH_MS = 50;
/** Lines held past this are written at once rather than when FLUSH_MS is up. */
const MAX_PENDING_BYTES = 256 * 1024;

interface OutputFile {
  readonly stream: WriteStream;
  bytes: number;
}

interface Line {
  readonly output: string;
  readonly text: string;
  readonly bytes: number;
}

/**
 * Local mode's "edgeHub": JSON lines on stdout and in `<data>/outputs/<output>.jsonl`. Bounded: at
 * most MAX_OPEN_FILES files open, each file at most MAX_OUTPUT_FILE_BYTES plus one older generation.
 * Lines sent within FLUSH_MS go out as one write per destination: a write per message cost two
 * buffers, a write to stdout and a thread-pool write each (~290 writes a second at the soak's ~145
 * messages a second; now ~20 to each destination).
 */
export class LocalSink implements TelemetrySink {
  /** Open files by output name; Map order is the use order (oldest first). */
  readonly #files = new Map<string, OutputFile>();
  /** Lines not written yet, in the order sent. */
  #pending: Line[] = [];
  #pendingBytes = 0;
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly outputsDir: string,
    private readonly write: (text: string) => void = (text) => process.stdout.write(text),
    private readonly maxFileBytes = MAX_OUTPUT_FILE_BYTES,
  ) {
    mkdirSync(outputsDir, { recursive: true });
  }

  send(message: OutboundMessage): void {
    const text = messageToJson(message) + '\n';
    const line = { output: message.output, text, bytes: Buffer.byteLength(text) };
    this.#pending.push(line);
    this.#pendingBytes += line.bytes;
    if (this.#pendingBytes >= MAX_PENDING_BYTES) this.#flush();
    else this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_MS);
  }

  async close(): Promise<void> {
    this.#flush();
    await Promise.all([...this.#files.values()].map((f) => new Promise((r) => f.stream.end(r))));
    this.#files.clear();
  }

  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#pending.length === 0) return;
    const lines = this.#pending;
    [this.#pending, this.#pendingBytes] = [[], 0];
    this.write(joined(lines));
    for (const [output, outputLines] of byOutput(lines)) this.#append(output, outputLines);
  }

  /** Writes `lines` to the output's file, a write per file generation (rotating where the cap falls). */
  #append(output: string, lines: readonly Line[]): void {
    let file: OutputFile | undefined;
    let chunk: Line[] = [];
    let bytes = 0;
    for (const line of lines) {
      if (!file || file.bytes + bytes + line.bytes > this.maxFileBytes) {
        if (file) put(file, chunk, bytes);
        file = this.#open(output, line.bytes);
        [chunk, bytes] = [[], 0];
      }
      chunk.push(line);
      bytes += line.bytes;
    }
    if (file) put(file, chunk, bytes);
  }

  /** The file for `output`, opened (or rotated) so that `adding` more bytes stay under the cap. */
  #open(output: string, adding: number): OutputFile {
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

const joined = (lines: readonly Line[]): string => lines.map((line) => line.text).join('');

/** The lines of each output, in the order sent. */
function byOutput(lines: readonly Line[]): Map<string, Line[]> {
  const groups = new Map<string, Line[]>();
  for (const line of lines) {
    const group = groups.get(line.output);
    if (group) group.push(line);
    else groups.set(line.output, [line]);
  }
  return groups;
}

function put(file: OutputFile, lines: readonly Line[], bytes: number): void {
  file.stream.write(joined(lines));
  file.bytes += bytes;
}
