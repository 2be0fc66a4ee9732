import { readdirSync, readFileSync } from 'node:fs';

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

/** Resident memory in MB of `pid` and its descendants: what the module costs the device. */
export function treeRssMb(pid = process.pid) {
  let kb = 0;
  for (const p of processTree(pid)) kb += Number(/VmRSS:\s+(\d+)/.exec(read(`/proc/${p}/status`))?.[1] ?? 0);
  return kb / 1024;
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
