import { FingerprintError } from './fingerprintError';
import { text } from './signalValues';

/** `1.2.3.0/24` or `2001:db8:1::/48`; IPv4-mapped IPv6 (`::ffff:1.2.3.4`) counts as IPv4. */
export function ipPrefix(raw: string | undefined): string {
  const ip = text(raw, 'clientIp').trim();
  const v4 = parseIpv4(ip);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.0/24`;
  const v6 = parseIpv6(ip);
  if (!v6) throw new FingerprintError('clientIp', 'malformed');
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    const [hi = 0, lo = 0] = v6.slice(6);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.0/24`;
  }
  return `${v6
    .slice(0, 3)
    .map((g) => g.toString(16))
    .join(':')}::/48`;
}

/** Strict dotted quad: four decimal octets, no leading zeros (which some parsers read as octal). */
export function parseIpv4(ip: string): number[] | null {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p))) return null;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** Eight 16-bit groups, or null. Accepts `::` compression, a dotted-quad tail and a `%zone` suffix. */
export function parseIpv6(ip: string): number[] | null {
  let address = ip.replace(/%[A-Za-z0-9._~-]+$/, '');
  const tail = /:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (tail?.[1] !== undefined) {
    const v4 = parseIpv4(tail[1]);
    if (!v4) return null;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    address = `${address.slice(0, -tail[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const parts = s.split(':');
    return parts.every((p) => /^[0-9a-fA-F]{1,4}$/.test(p)) ? parts.map((p) => parseInt(p, 16)) : null;
  };
  const head = groups(halves[0] ?? '');
  const rest = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !rest) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - rest.length;
  return missing >= 1 ? [...head, ...new Array<number>(missing).fill(0), ...rest] : null;
}
