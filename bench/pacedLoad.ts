import { Pool } from 'undici';
import { summarizeLatencies, type LoadResult, type TargetRequest } from './loadResult';

export interface PacedLoadOptions {
  target: TargetRequest;
  /** Requests per second, sent at even intervals whatever the answers do (open loop). */
  rate: number;
  durationS: number;
  /** Upper bound on concurrent connections; more requests in flight than this queue in the client. */
  connections?: number;
  timeoutMs?: number;
}

/**
 * An open-loop load generator: request i is due at `i / rate` seconds and is sent then, whether or not earlier
 * answers came back, and its latency counts from when it was due. So a slow answer cannot hold back later
 * requests and hide its own cost (coordinated omission). autocannon's `overallRate` is not that: each
 * connection sends its quota back to back at the start of every second, then waits, which is a burst once a
 * second (see bench/README.md).
 */
export async function pacedLoad(opts: PacedLoadOptions): Promise<LoadResult> {
  const { target, rate, durationS } = opts;
  const connections = opts.connections ?? 256;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const url = new URL(target.url);
  const pool = new Pool(url.origin, {
    connections,
    keepAliveTimeout: 4_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const path = url.pathname + url.search;
  const total = Math.max(1, Math.round(rate * durationS));
  const latencies: number[] = [];
  let sent = 0;
  let non2xx = 0;
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  const inFlight = new Set<Promise<void>>();

  const send = (dueAt: number) => {
    sent++;
    const done = pool
      .request({ path, method: 'POST', headers: target.headers, body: target.body })
      .then(async (res) => {
        await res.body.text();
        statusCodes[res.statusCode] = (statusCodes[res.statusCode] ?? 0) + 1;
        if (res.statusCode >= 200 && res.statusCode < 300) latencies.push(performance.now() - dueAt);
        else non2xx++;
      })
      .catch(() => {
        errors++;
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  const start = performance.now();
  const intervalMs = 1000 / rate;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * intervalMs <= now) send(start + sent * intervalMs);
      if (sent >= total) resolve();
      else setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
    };
    tick();
  });
  const wallS = (performance.now() - start) / 1000;
  await Promise.all([...inFlight]);
  await pool.close();

  return {
    driver: 'paced',
    offeredRate: rate,
    connections,
    durationS,
    sent,
    ok: latencies.length,
    non2xx,
    statusCodes,
    errors,
    throughput: Math.round((latencies.length / Math.max(wallS, durationS)) * 10) / 10,
    latencyMs: summarizeLatencies(latencies),
  };
}
