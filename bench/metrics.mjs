/**
 * Reads the module's /metrics once; the returned function gives one series' value: the first whose
 * labels include `labels`, or with `sum` the total of every such series (0 when there is none).
 */
export async function metricReader(port) {
  const lines = (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).split('\n');
  return (name, labels = {}, sum = false) => {
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const values = lines
      .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && wanted.every((w) => l.includes(w)))
      .map((l) => Number(l.split(' ').at(-1)));
    return sum ? values.reduce((a, b) => a + b, 0) : values[0] ?? 0;
  };
}
