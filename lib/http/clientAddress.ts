import { BlockList, isIP } from 'node:net';

/**
 * Who the client is, given the socket's peer and the `X-Forwarded-For` it sent. The hops are believed only as
 * far as they were written by trusted proxies (the edge: the load balancers in `EDGE_TRUSTED_PROXIES`; the API:
 * the edges in `API_TRUSTED_EDGES`): reading from the right, each trusted address vouches for the hop before
 * it, and the client is the last (rightmost) address that no trusted proxy is. Without a trusted peer, a
 * client's own `X-Forwarded-For` is ignored: the socket address.
 */
export class ClientAddress {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address = '', prefix] = cidr.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      const bits = prefix === undefined ? (family === 'ipv6' ? 128 : 32) : Number(prefix);
      this.trusted.addSubnet(address, bits, family);
    }
    this.any = cidrs.length > 0;
  }

  /** Whether `address` (already plain, see `plainAddress`) is one of the trusted proxies. */
  isTrusted(address: string): boolean {
    if (!this.any) return false;
    const family = isIP(address);
    return family !== 0 && this.trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** The client's address; `forwardedFor` is every `X-Forwarded-For` header the request carried. */
  resolve(peer: string, forwardedFor: string | string[] | undefined): string {
    let client = plainAddress(peer);
    if (!this.isTrusted(client) || forwardedFor === undefined) return client;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plainAddress(hopAddress(hops[i] ?? ''));
      // A hop that is not an address cannot be a client: the proxy that reported it is as far as we can see.
      if (isIP(hop) === 0) return client;
      client = hop;
      if (!this.isTrusted(hop)) return client;
    }
    return client;
  }
}

/**
 * An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as a dual-stack listener reports IPv4 peers) as the IPv4
 * address it is; any other value as it is. Every reader of a client address (the edge, the API's limits, the
 * fingerprint) goes through `ipv4Of`, so a client counts the same whichever form reached it.
 */
export function plainAddress(address: string): string {
  const v4 = ipv4Of(address);
  return v4 ? v4.join('.') : address;
}

/** The four octets of an IPv4 address or of an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), else null. */
export function ipv4Of(ip: string): number[] | null {
  const v4 = parseIpv4(ip);
  if (v4) return v4;
  const v6 = parseIpv6(ip);
  if (!v6 || !v6.slice(0, 5).every((g) => g === 0) || v6[5] !== 0xffff) return null;
  const [hi = 0, lo = 0] = v6.slice(6);
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
}

/** Strict dotted quad: four decimal octets, no leading zeros (which some parsers read as octal). */
function parseIpv4(ip: string): number[] | null {
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

/** One X-Forwarded-For entry without the port or brackets some proxies add (`1.2.3.4:5678`, `[::1]:80`). */
function hopAddress(hop: string): string {
  const value = hop.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed?.[1]) return bracketed[1];
  const v4WithPort = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(value);
  return v4WithPort?.[1] ?? value;
}
