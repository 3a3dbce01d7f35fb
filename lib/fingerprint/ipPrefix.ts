import { ipv4Of, parseIpv6 } from '../http/clientAddress';
import { FingerprintError } from './fingerprintError';
import { text } from './signalValues';

/** `1.2.3.0/24` or `2001:db8:1::/48`; IPv4-mapped IPv6 (`::ffff:1.2.3.4`) counts as IPv4. */
export function ipPrefix(raw: string | undefined): string {
  const ip = text(raw, 'clientIp').trim();
  const v4 = ipv4Of(ip);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.0/24`;
  const v6 = parseIpv6(ip);
  if (!v6) throw new FingerprintError('clientIp', 'malformed');
  return `${v6
    .slice(0, 3)
    .map((g) => g.toString(16))
    .join(':')}::/48`;
}
