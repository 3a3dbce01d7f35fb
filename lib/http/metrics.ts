import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one service: process metrics, and request counts and latency by route and status.
 * Routes are the router's patterns (`/v1/Accounts/:accountSid/Tokens`), never raw paths, so account SIDs and
 * other ids do not explode the label set.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly latency: Histogram<'method' | 'route' | 'status'>;

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
  }

  /** Outermost middleware: times every request, errors included, once the status is final. */
  middleware(): Middleware {
    return async (ctx, next) => {
      const start = performance.now();
      try {
        await next();
      } finally {
        const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
        const labels = {
          method: ctx.method,
          route: typeof route === 'string' ? route : 'unmatched',
          status: String(ctx.status),
        };
        this.requests.inc(labels);
        this.latency.observe(labels, (performance.now() - start) / 1000);
      }
    };
  }

  /** `GET /metrics` in the Prometheus text format. */
  route(router: Router): void {
    router.get('/metrics', async (ctx) => {
      ctx.type = this.registry.contentType;
      ctx.body = await this.registry.metrics();
    });
  }
}
