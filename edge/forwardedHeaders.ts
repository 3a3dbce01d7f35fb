import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Dispatcher } from 'undici';
import { type ClientAddress, plainAddress } from '../lib/http/clientAddress';

/**
 * Request headers never forwarded as the client wrote them: hop-by-hop headers (RFC 9110 §7.6.1; `expect` too,
 * since Node has already answered `100 Continue`), the body framing (the edge sends the body it read with its
 * own length), every forwarding header a client could forge (the API trusts the first `X-Forwarded-For` hop
 * only because the edge writes it), and a client's trace context (below).
 */
const droppedRequestHeaders = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'transfer-encoding',
  'content-length',
  'forwarded',
  'x-real-ip',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
]);

/**
 * A client's trace context: the edge starts its own trace (its tracer reads none, edge/main.ts); a client must not
 * join, or flood, someone else's.
 */
const traceHeaders = ['traceparent', 'tracestate', 'baggage'];

/** Response headers that describe the API's connection with the edge, not the edge's with the client. */
const droppedResponseHeaders = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'trailer',
];

/**
 * The headers sent to the API: the client's, less those above, plus ours. Headers a client names in
 * `Connection` are left alone (as nginx does): ours are written after, and removing e.g. `content-length` on a
 * client's say-so would only open doors.
 */
export function forwardedHeaders(
  req: IncomingMessage,
  requestId: string,
  clients: ClientAddress,
): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!droppedRequestHeaders.has(name) && !traceHeaders.includes(name)) headers[name] = value;
  }
  const peer = req.socket.remoteAddress ?? '';
  headers['x-forwarded-for'] = clients.resolve(peer, req.headers['x-forwarded-for']);
  headers['x-forwarded-proto'] = forwardedProto(req, clients.isTrusted(plainAddress(peer)));
  if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
  headers['x-request-id'] = requestId;
  return headers;
}

/**
 * The scheme the client used: the edge's own socket's, except behind a trusted balancer that terminates TLS,
 * whose last `X-Forwarded-Proto` hop is believed.
 */
function forwardedProto(req: IncomingMessage, fromTrustedProxy: boolean): 'http' | 'https' {
  const claimed = String(req.headers['x-forwarded-proto'] ?? '')
    .split(',')
    .pop()
    ?.trim();
  if (fromTrustedProxy && (claimed === 'https' || claimed === 'http')) return claimed;
  return 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
}

/** The headers of the API's answer the client gets. */
export function relayedHeaders(answer: Dispatcher.ResponseData): Dispatcher.ResponseData['headers'] {
  const headers = { ...answer.headers };
  for (const name of droppedResponseHeaders) delete headers[name];
  // The source design: "If ACAO header exists, then passes through, else sets to *".
  if (headers['access-control-allow-origin'] === undefined) headers['access-control-allow-origin'] = '*';
  return headers;
}
