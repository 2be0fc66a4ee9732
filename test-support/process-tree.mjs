import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

/** Lines of a /proc file, or [] if the process is gone. */
function read(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function childrenOf(pid) {
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) => read(`/proc/${pid}/task/${tid}/children`).split(' ').filter(Boolean).map(Number));
}

/** Process ids of `pid` and everything it started, from /proc (Linux): the host and its runner. */
export function processTree(pid = process.pid) {
  const out = [];
  const queue = [pid];
  while (queue.length) {
    const next = queue.shift();
    out.push(next);
    queue.push(...childrenOf(next));
  }
  return out;
}

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(read(`/proc/${pid}/status`))?.[1] ?? 0) / 1024;

/** Resident memory in MB of `pid` and its descendants: what the module costs the device. */
export function treeRssMb(pid = process.pid) {
  let mb = 0;
  for (const p of processTree(pid)) mb += rssMb(p);
  return mb;
}

/**
 * The module's resident memory in MB from one read of its process tree: all of it, the host process
 * (`pid`) alone, and its runner (the host's child and whatever it started; `runner` undefined without one).
 */
export function moduleRss(pid) {
  const [host, runner] = processTree(pid);
  const runnerMb = runner ? treeRssMb(runner) : 0;
  const hostMb = rssMb(host);
  return { runner, hostMb, runnerMb, allMb: hostMb + runnerMb };
}

/** CPU seconds (user + system) used so far by `pid` and its descendants (USER_HZ 100). */
export function treeCpuSeconds(pid = process.pid) {
  let ticks = 0;
  for (const p of processTree(pid)) {
    const stat = read(`/proc/${p}/stat`);
    if (!stat) continue;
    const fields = stat.split(') ')[1].split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

const V8_PAGE = 256 * 1024;
/** HEAP_MAX_SIZE of glibc on 64-bit: each thread arena is one reservation of this size, aligned to it. */
const ARENA = 64 << 20;

/** The mappings of a process (/proc/<pid>/smaps): range, permissions, name, resident KB; [] if it is gone. */
function mappings(pid) {
  const rows = [];
  for (const line of read(`/proc/${pid}/smaps`).split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) rows.push({ start: parseInt(head[1], 16), end: parseInt(head[2], 16), perm: head[3], name: head[4], kb: 0 });
    else if (line.startsWith('Rss:') && rows.length) rows.at(-1).kb = Number(line.split(/\s+/)[1]);
  }
  return rows;
}

const usesJemalloc = (rows) => rows.some((row) => row.name.includes('libjemalloc'));

/**
 * Whether mapping `i` is a glibc thread arena: anonymous, read-write, on a 64 MB boundary, and with the
 * reserved rest after it spanning exactly 64 MB.
 */
function isThreadArena(rows, i) {
  const row = rows[i];
  if (row.name || row.perm !== 'rw-p' || row.start % ARENA !== 0) return false;
  const rest = rows[i + 1];
  const end = rest && rest.start === row.end && !rest.name && rest.perm === '---p' ? rest.end : row.end;
  return end - row.start === ARENA;
}

/** glibc's thread arenas in a process (the main one is `[heap]`). */
export function mallocArenas(pid) {
  const rows = mappings(pid);
  return rows.filter((_, i) => isThreadArena(rows, i)).length;
}

/** Whether a process has jemalloc loaded (the runner preloads it where the system has it). */
export function mapsJemalloc(pid) {
  return usesJemalloc(mappings(pid));
}

/**
 * Resident memory of one process by kind of mapping, in MB, read from /proc/<pid>/smaps (Linux,
 * x86_64 glibc): `malloc` (the main arena and the thread arenas), `v8` (V8's 256 KB heap pages),
 * `wasm` (a writable region before a reservation of 1 GB or more: linear memory with its guard),
 * `code` (writable and executable: V8's and wasm's code), `files` (mapped files: binaries, libraries),
 * `other`. A heuristic, but it told apart every growth the soak has found so far. Under jemalloc
 * (the runner's allocator where installed) `malloc` is 0: its pages are not told apart from V8's and
 * count under `v8` and `other`.
 */
export function rssByKind(pid) {
  const kinds = { malloc: 0, v8: 0, wasm: 0, code: 0, files: 0, other: 0 };
  const rows = mappings(pid);
  const glibc = !usesJemalloc(rows);
  rows.forEach((row, i) => {
    const size = row.end - row.start;
    const next = rows[i + 1];
    let kind = 'other';
    if (row.name === '[heap]' || (glibc && isThreadArena(rows, i))) kind = 'malloc';
    else if (row.name.startsWith('/')) kind = 'files';
    else if (row.name) kind = 'other';
    else if (row.perm === 'rwxp') kind = 'code';
    else if (row.perm === 'rw-p' && next?.perm === '---p' && next.start === row.end && next.end - row.start >= 1 << 30) kind = 'wasm';
    else if (row.perm === 'rw-p' && row.start % V8_PAGE === 0 && size % V8_PAGE === 0 && size <= 4 * 1024 * 1024) kind = 'v8';
    kinds[kind] += row.kb / 1024;
  });
  return kinds;
}

/**
 * V8's heap pages in a process, by the isolate that owns them (Linux; read through /proc/<pid>/mem, so
 * only by the process's parent or root): every V8 memory chunk starts with its size (one mapping of
 * 256 KB, or larger for large objects) and holds its Heap* two words in. Returns one entry per isolate:
 * chunks, resident MB. The soak's `v8` kind is a guess from sizes; this is the page's own word.
 */
export function v8Heaps(pid) {
  let fd;
  try {
    fd = openSync(`/proc/${pid}/mem`, 'r');
  } catch {
    return [];
  }
  const heaps = new Map();
  const head = Buffer.alloc(24);
  try {
    for (const row of mappings(pid)) {
      const size = row.end - row.start;
      if (row.name || row.perm !== 'rw-p' || row.start % V8_PAGE !== 0 || size % V8_PAGE !== 0) continue;
      try {
        readSync(fd, head, 0, head.length, row.start);
      } catch {
        continue; // unmapped meanwhile
      }
      const owner = head.readBigUInt64LE(16);
      // Its size, and a Heap* (non-null, 8-aligned): a mapping whose first word merely equals its size is not a chunk.
      if (head.readBigUInt64LE(0) !== BigInt(size) || owner === 0n || owner % 8n !== 0n) continue;
      const heap = owner.toString(16);
      const entry = heaps.get(heap) ?? { heap, chunks: 0, mb: 0 };
      entry.chunks++;
      entry.mb += row.kb / 1024;
      heaps.set(heap, entry);
    }
  } finally {
    closeSync(fd);
  }
  return [...heaps.values()].sort((a, b) => b.mb - a.mb);
}
