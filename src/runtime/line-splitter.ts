import type { Readable } from 'node:stream';

/**
 * Calls `onLine` for each line of a stream, cutting lines longer than `maxBytes` so that a guest
 * printing without newlines cannot make the host buffer without bound.
 */
export function splitLines(stream: Readable, maxBytes: number, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let text = pending + chunk;
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      onLine(stripCr(text.slice(0, nl)));
      text = text.slice(nl + 1);
    }
    while (text.length > maxBytes) {
      onLine(text.slice(0, maxBytes));
      text = text.slice(maxBytes);
    }
    pending = text;
  });
  stream.on('end', () => {
    if (pending) onLine(stripCr(pending));
    pending = '';
  });
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
