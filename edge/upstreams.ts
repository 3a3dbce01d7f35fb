import { Pool } from 'undici';
import type { Logger } from '../lib/logger';

/** One API instance: a keep-alive connection pool and whether it is taking requests. */
export interface Upstream {
  url: string;
  pool: Pool;
  healthy: boolean;
}

/**
 * The API instances behind the edge. Requests go round-robin over the healthy ones; an instance is taken out
 * when a connection to it is refused or its `/readyz` fails (an API answers 503 there from SIGTERM on, before it
 * stops accepting), and brought back once `/readyz` answers 200 again. Every instance's `/readyz` is asked every
 * `intervalMs`, so a rolling restart is noticed before the API closes its port.
 */
export class Upstreams {
  readonly all: Upstream[];
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    urls: readonly string[],
    private readonly opts: { connectTimeoutMs: number; intervalMs: number; logger: Logger },
  ) {
    this.all = urls.map((url) => ({
      url,
      // keepAliveTimeout stays below the API's (5 s) so the edge never sends on a socket the API is closing.
      pool: new Pool(url, { connect: { timeout: opts.connectTimeoutMs }, keepAliveTimeout: 4_000 }),
      healthy: true,
    }));
  }

  /**
   * The order to try the instances in for one request: the healthy ones from the next in turn, then (a last
   * resort, when every instance looks down) the others, which may have come back since their last check.
   */
  order(): Upstream[] {
    const start = this.next++ % this.all.length;
    const rotated = [...this.all.slice(start), ...this.all.slice(0, start)];
    return [...rotated.filter((u) => u.healthy), ...rotated.filter((u) => !u.healthy)];
  }

  /** A connection to `upstream` was refused: stop sending to it until its /readyz answers. */
  refused(upstream: Upstream, reason: string): void {
    this.mark(upstream, false, reason);
  }

  start(): void {
    void this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.opts.intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.all.map((u) => u.pool.destroy()));
  }

  private async checkAll(): Promise<void> {
    if (this.checking) return; // a slow check does not pile up behind itself
    this.checking = true;
    try {
      await Promise.all(this.all.map((u) => this.check(u)));
    } finally {
      this.checking = false;
    }
  }

  private async check(upstream: Upstream): Promise<void> {
    const timeoutMs = Math.max(50, Math.min(2_000, this.opts.intervalMs));
    try {
      const res = await upstream.pool.request({
        method: 'GET',
        path: '/readyz',
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body.dump();
      this.mark(upstream, res.statusCode === 200, `/readyz answered ${res.statusCode}`);
    } catch (err) {
      this.mark(upstream, false, `/readyz failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private mark(upstream: Upstream, healthy: boolean, reason: string): void {
    if (upstream.healthy === healthy) return;
    upstream.healthy = healthy;
    if (healthy) this.opts.logger.info({ upstream: upstream.url }, 'upstream back in rotation');
    else this.opts.logger.warn({ upstream: upstream.url, reason }, 'upstream out of rotation');
  }
}
