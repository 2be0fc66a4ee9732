import { createRequire } from 'node:module';

interface PacketWriter {
  writeToStream: { cacheNumbers: boolean };
}

/**
 * The main file of the copy of mqtt-packet that the last of `path` uses: each package of `path` is
 * resolved from the one before, the first from `from` (a file URL or path).
 */
export function mqttPacketOf(from: string, path: readonly string[]): string {
  let at = from;
  for (const name of path) at = createRequire(at).resolve(name);
  return createRequire(at).resolve('mqtt-packet');
}

/**
 * mqtt-packet fills, at the first packet it writes, a cache of all 65,536 packet ids as two-byte Buffers:
 * 6.6 MB of heap held for good by each copy of the package (the SDK's mqtt 4 brings one, aedes uses
 * another), 65,536 objects that every full collection marks and the host's paced compactions move. Writing
 * an id's two bytes when a packet needs them is one small allocation instead. The copy: mqttPacketOf's.
 */
export function writePacketIdsUncached(from: string, path: readonly string[]): void {
  (createRequire(from)(mqttPacketOf(from, path)) as PacketWriter).writeToStream.cacheNumbers = false;
}
