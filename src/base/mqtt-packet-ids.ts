import { createRequire } from 'node:module';

interface PacketWriter {
  writeToStream: { cacheNumbers: boolean };
}

/**
 * mqtt-packet fills, at the first packet it writes, a cache of all 65,536 packet ids as two-byte Buffers:
 * 6.6 MB of heap held for good by each copy of the package (the SDK's mqtt 4 brings one, aedes uses
 * another), 65,536 objects that every full collection marks and the host's paced compactions move. Writing
 * an id's two bytes when a packet needs them is one small allocation instead. `path` is the chain of
 * packages, each resolved from the one before (starting at `from`, a file URL or path), whose last depends on the copy to change.
 */
export function writePacketIdsUncached(from: string, path: readonly string[]): void {
  let at = from;
  for (const name of path) at = createRequire(at).resolve(name);
  (createRequire(at)('mqtt-packet') as PacketWriter).writeToStream.cacheNumbers = false;
}
