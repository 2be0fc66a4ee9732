// A handler keeping its state with wasi:keyvalue in place of edge:host/kv (the same store: bucket
// "default" is the workload's kv). Methods: set {key, value}, get {key}, incr {key, by}, many {keys}
// (batch.get-many), remove {keys} (batch.delete-many), page {cursor} (list-keys), and edge-get {key},
// which reads through edge:host/kv to show both see one store.
import { open } from 'wasi:keyvalue/store@0.2.0-draft';
import { increment } from 'wasi:keyvalue/atomics@0.2.0-draft';
import { getMany, deleteMany } from 'wasi:keyvalue/batch@0.2.0-draft';
import { get as edgeGet } from 'edge:host/kv@0.1.0';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (bytes: Uint8Array | undefined): string | null => (bytes === undefined ? null : decoder.decode(bytes));

type Args = { key?: string; value?: string; by?: number; keys?: string[]; cursor?: number };

export const handler = {
  init(): void {},
  onTimer(): void {},
  onMessage(): void {},
  onMethod(name: string, payload: string): string {
    try {
      return method(name, payload);
    } catch (err) {
      // An import's err arrives as an exception carrying the WIT error (a variant); on-method's err is a string.
      throw JSON.stringify((err as { payload?: unknown }).payload ?? String(err));
    }
  },
};

function method(name: string, payload: string): string {
  const args = (payload ? JSON.parse(payload) : {}) as Args;
  const bucket = open('default');
  switch (name) {
    case 'set':
      bucket.set(args.key!, encoder.encode(args.value!));
      return '{}';
    case 'get':
      return JSON.stringify({ value: text(bucket.get(args.key!)), exists: bucket.exists(args.key!) });
    case 'incr':
      return JSON.stringify({ value: Number(increment(bucket, args.key!, BigInt(args.by ?? 1))) });
    case 'many':
      return JSON.stringify(getMany(bucket, args.keys!).map((entry) => (entry ? [entry[0], text(entry[1])] : null)));
    case 'remove':
      deleteMany(bucket, args.keys!);
      return '{}';
    case 'page': {
      const page = bucket.listKeys(args.cursor === undefined ? undefined : BigInt(args.cursor));
      return JSON.stringify({ keys: page.keys, cursor: page.cursor === undefined ? null : Number(page.cursor) });
    }
    case 'edge-get':
      return JSON.stringify({ value: text(edgeGet(args.key!)) });
    case 'bad-store':
      try {
        open('elsewhere');
        return '{}';
      } catch (err) {
        return JSON.stringify({ error: (err as { payload?: unknown }).payload ?? String(err) });
      }
    default:
      throw `unknown method ${name}`;
  }
}
