import type { Context, Middleware } from 'koa';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../domain/errors';

/** Requests allowed per window; `points: 0` turns the limit off. */
export interface Limit {
  points: number;
  windowSeconds: number;
}

/**
 * A named limit over some key of a request. Counted in memory per API instance: with N instances behind a
 * balancer the effective limit is up to N times this (a shared store is one constructor away when that matters).
 */
export class RateLimit {
  private readonly limiter: RateLimiterMemory | undefined;

  constructor(
    readonly name: string,
    limit: Limit,
  ) {
    this.limiter =
      limit.points > 0
        ? new RateLimiterMemory({ keyPrefix: name, points: limit.points, duration: limit.windowSeconds })
        : undefined;
  }

  /** Counts one request for `key`; throws `rate_limited` (429 + Retry-After) once the window is used up. */
  async consume(key: string): Promise<void> {
    if (!this.limiter) return;
    try {
      await this.limiter.consume(key);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const seconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw new AppError('rate_limited', 'Too many token requests; retry later.', {
        'Retry-After': String(seconds),
      });
    }
  }

  /** Middleware form, for keys known before the body is read (the client IP). */
  middleware(keyOf: (ctx: Context) => string): Middleware {
    return async (ctx, next) => {
      await this.consume(keyOf(ctx));
      await next();
    };
  }
}

/** The limits of the public token routes (create and refresh share them: both mint tokens). */
export interface RateLimits {
  clientIp: RateLimit;
  deploymentKey: RateLimit;
}

export function createRateLimits(limits: { clientIp: Limit; deploymentKey: Limit }): RateLimits {
  return {
    clientIp: new RateLimit('ip', limits.clientIp),
    deploymentKey: new RateLimit('dk', limits.deploymentKey),
  };
}

/** The client as the edge reports it: the first X-Forwarded-For hop (the edge overwrites it), else the socket. */
export const clientIpOf = (ctx: Context): string => ctx.request.ips[0] ?? ctx.request.ip;
