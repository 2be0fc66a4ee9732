/**
 * Preloaded (--import) into preview2-shim's I/O thread, which makes a workload's outbound wasi:http
 * connections. Every host name that thread looks up passes through here: addresses on loopback (the
 * device itself, the host's own ports) and link-local (cloud metadata at 169.254.169.254) are
 * dropped, so an allowed name that resolves or rebinds there reaches nothing. The connection is made
 * to an address this lookup returned: there is no second lookup to rebind. A literal address in
 * `allowedHosts` is never looked up, so an entry naming 127.0.0.1 itself still works. Private ranges
 * stay reachable: that is how a workload calls another module on the device network.
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { isInternalAddress } from './internal-address.js';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

const original = dns.lookup.bind(dns) as (host: string, options: LookupOptions, callback: LookupCallback) => void;

function guardedLookup(host: string, optionsOrCallback: LookupOptions | number | LookupCallback, maybeCallback?: LookupCallback): void {
  const callback = (typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback)!;
  const options: LookupOptions = typeof optionsOrCallback === 'number' ? { family: optionsOrCallback } : typeof optionsOrCallback === 'object' ? optionsOrCallback : {};
  // A literal address is what the allow-list matched to the letter (and what an http workload listens on).
  if (isIP(host)) return original(host, options, callback);
  original(host, { ...options, all: true }, (err, found) => {
    if (err) return callback(err, options.all ? [] : '');
    const usable = (found as LookupAddress[]).filter((a) => !isInternalAddress(a.address));
    if (usable.length === 0) {
      const refused = Object.assign(new Error(`egress refused: ${host} resolves to ${(found as LookupAddress[]).map((a) => a.address).join(', ')} (loopback or link-local)`), { code: 'ENOTFOUND', hostname: host });
      process.stderr.write(`wasmhost: ${refused.message}\n`);
      return callback(refused, options.all ? [] : '');
    }
    if (options.all) return callback(null, usable);
    callback(null, usable[0]!.address, usable[0]!.family);
  });
}

dns.lookup = guardedLookup as typeof dns.lookup;
