import type { CorsDecision } from './contracts';

/**
 * `Access-Control-Allow-Origin` for one response. Pure and free of Node built-ins: the
 * workflow sandbox imports it.
 *
 * - no allowed origins: `*`, without `Vary` (the answer does not depend on the request);
 * - an entry matches the request `Origin`: that origin, echoed, with `Vary: Origin`;
 * - no match, or no `Origin`: the entries joined by `,`, with `Vary: Origin`. That is the source design's
 *   literal value; browsers accept a single origin only, so a page on another origin cannot read the reply.
 *
 * Entries that `isOriginPattern` rejects never match anything (they still appear in the joined value, which
 * no browser accepts anyway). The list is expected to be validated when it is stored.
 */
export function corsFor(
  allowedOrigins: readonly string[],
  requestOrigin: string | null | undefined,
): CorsDecision {
  if (allowedOrigins.length === 0) return { allowOrigin: '*', vary: false };
  const origin = requestOrigin == null ? null : parseOrigin(requestOrigin);
  if (origin && allowedOrigins.some((entry) => entryMatches(entry, origin))) {
    return { allowOrigin: origin.serialized, vary: true };
  }
  return { allowOrigin: allowedOrigins.join(','), vary: true };
}

/**
 * Whether a request may be served for an account: no `Origin` (a server, not a browser page), an account that
 * allows any origin, or an `Origin` that one of its entries matches. The same rule as `corsFor`, so a request
 * this refuses is one whose reply no browser would hand to its page anyway; refusing it means nothing is minted.
 */
export function isOriginAllowed(allowedOrigins: readonly string[], requestOrigin: string | null): boolean {
  if (requestOrigin === null || allowedOrigins.length === 0) return true;
  const origin = parseOrigin(requestOrigin);
  return origin !== null && allowedOrigins.some((entry) => entryMatches(entry, origin));
}

/**
 * Whether `entry` may stand in an account's `allowedOrigins`:
 * - an exact origin in its serialized form (`https://shop.example.com`, `http://localhost:8081`,
 *   `http://[::1]:3000`): http or https, lower-case, no default port, no trailing slash, path, query,
 *   fragment or userinfo. The serialized form is required, not normalised, because the matcher compares
 *   strings: `https://Shop.example.com/` would otherwise be stored and never match.
 * - a wildcard subdomain `https://*.example.com[:port]`: matches any host ending in `.example.com` (never
 *   `example.com` itself) with the same scheme and port.
 *
 * Rejected on purpose:
 * - `*` alone: an empty list already means "any origin"; a `*` entry mixed with others would be ambiguous.
 * - wildcards on `http:`: every matching subdomain could be served by anyone on the network path, so a
 *   plaintext wildcard trusts an open-ended set of origins nobody can vouch for. List http origins exactly.
 * - `https://*` and single-label bases such as `https://*.com` or `https://*.localhost`: they trust a whole
 *   top-level domain. Two labels is the floor this check can enforce without the Public Suffix List, so
 *   `https://*.co.uk` or `https://*.github.io` still pass: whoever stores entries must not add those.
 * - `*` anywhere but as the whole first label (`https://a*.example.com`, `https://*.*.example.com`), IP
 *   bases, upper case, whitespace, trailing dots and non-ASCII (write IDNs in their `xn--` form).
 */
export function isOriginPattern(entry: string): boolean {
  return parseEntry(entry) !== null;
}

interface Origin {
  /** The serialized form, as the request carried it. */
  serialized: string;
  scheme: 'http:' | 'https:';
  host: string;
  /** '' for the scheme's default port, as `URL.port` gives it. */
  port: string;
}

type Entry = { kind: 'exact'; origin: string } | { kind: 'wildcard'; base: string; port: string };

const LABEL = /^[a-z0-9_-]+$/;
const WILDCARD = /^https:\/\/\*\.([^:/]+)(?::(\d+))?$/;

/**
 * Parses a serialized origin as browsers send it. Anything else (the opaque `null`, upper case, a path, a
 * default port written out, empty labels, a trailing dot) is not well formed and never matches.
 */
function parseOrigin(value: string): Origin | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.origin !== value) return null;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (!isHostname(url.hostname) && !/^\[[0-9a-f:.]+\]$/.test(url.hostname)) return null;
  return { serialized: value, scheme: url.protocol, host: url.hostname, port: url.port };
}

function isHostname(host: string): boolean {
  return host.split('.').every((label) => LABEL.test(label));
}

function parseEntry(entry: string): Entry | null {
  const wildcard = WILDCARD.exec(entry);
  if (wildcard) {
    const base = wildcard[1] ?? '';
    const labels = base.split('.');
    if (labels.length < 2 || !isHostname(base)) return null;
    // A base ending in a numeric label is an IPv4 address (or a URL parse error), not a domain.
    if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return null;
    // Substitute a concrete label and let the URL parser judge the rest (port range, default port).
    const sample = parseOrigin(entry.replace('*', 'x'));
    if (!sample || sample.host !== `x.${base}`) return null;
    return { kind: 'wildcard', base, port: sample.port };
  }
  return parseOrigin(entry) ? { kind: 'exact', origin: entry } : null;
}

function entryMatches(entry: string, origin: Origin): boolean {
  const parsed = parseEntry(entry);
  if (!parsed) return false;
  if (parsed.kind === 'exact') return parsed.origin === origin.serialized;
  // Only https wildcards exist (see isOriginPattern); the suffix check includes the dot, so `evil-example.com`
  // and `example.com` itself never match `*.example.com`, and a suffix is anchored at the end of the host.
  return origin.scheme === 'https:' && origin.port === parsed.port && origin.host.endsWith(`.${parsed.base}`);
}
