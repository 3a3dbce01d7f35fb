import type { Context, Middleware } from 'koa';
import { ClientAddress } from '../lib/http/clientAddress';

/**
 * Decides once per request who the client is (`clientIpOf`): the address the edge reports in X-Forwarded-For
 * when the peer is one of `trustedEdges`, else the peer itself. A caller that reaches the API beside the edge
 * therefore cannot choose its address: not to dodge the limits, nor to pick the IP of a bound fingerprint.
 */
export function clientAddress(trustedEdges: readonly string[]): Middleware {
  const clients = new ClientAddress(trustedEdges);
  return async (ctx, next) => {
    ctx.state.clientIp = clients.resolve(
      ctx.req.socket.remoteAddress ?? '',
      ctx.req.headers['x-forwarded-for'],
    );
    await next();
  };
}

/** The client of this request, as `clientAddress()` decided. */
export const clientIpOf = (ctx: Context): string => ctx.state.clientIp as string;
