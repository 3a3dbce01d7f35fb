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

/** A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; the API and the trusted list expect a.b.c.d. */
export function plainAddress(address: string): string {
  return address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}

/** One X-Forwarded-For entry without the port or brackets some proxies add (`1.2.3.4:5678`, `[::1]:80`). */
function hopAddress(hop: string): string {
  const value = hop.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed?.[1]) return bracketed[1];
  const v4WithPort = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(value);
  return v4WithPort?.[1] ?? value;
}
