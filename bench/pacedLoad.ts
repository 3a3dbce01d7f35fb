import { Pool } from 'undici';
import { pacedCalls } from './callLoad';
import type { LoadResult, TargetRequest } from './loadResult';

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
  try {
    return await pacedCalls(
      async () => {
        const res = await pool.request({ path, method: 'POST', headers: target.headers, body: target.body });
        await res.body.text();
        return res.statusCode;
      },
      rate,
      durationS,
      connections,
    );
  } finally {
    await pool.close();
  }
}
