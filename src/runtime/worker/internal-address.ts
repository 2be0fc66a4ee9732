import { isIP } from 'node:net';

/**
 * Addresses a workload never reaches through a host name: loopback (127.0.0.0/8, ::1, and "this host"
 * 0.0.0.0/8, ::) and link-local (169.254.0.0/16 with cloud metadata, fe80::/10), IPv4-mapped forms
 * included.
 */
export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  if (isIP(ip) === 4) {
    const [a, b] = ip.split('.').map(Number) as [number, number];
    return a === 127 || a === 0 || (a === 169 && b === 254);
  }
  const lower = ip.toLowerCase();
  return lower === '::1' || lower === '::' || /^fe[89ab][0-9a-f]:/.test(lower);
}
