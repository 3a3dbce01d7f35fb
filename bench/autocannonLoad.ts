import autocannon from 'autocannon';
import type { LoadResult, TargetRequest } from './loadResult';

export interface AutocannonLoadOptions {
  target: TargetRequest;
  connections: number;
  durationS: number;
  /** autocannon's `overallRate`; omitted at saturation. */
  overallRate?: number;
  timeoutS?: number;
}

/**
 * Closed-loop load with autocannon: each connection sends its next request when the previous answer is in,
 * so with `overallRate` unset this finds the saturation throughput. With `overallRate` set, autocannon's own
 * coordinated-omission correction is turned off: it assumes a 1 ms interval and would fill the histogram with
 * made-up samples.
 */
export async function autocannonLoad(opts: AutocannonLoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: opts.target.url,
    method: 'POST',
    headers: opts.target.headers,
    body: opts.target.body,
    connections: opts.connections,
    duration: opts.durationS,
    timeout: opts.timeoutS ?? 20,
    ...(opts.overallRate ? { overallRate: opts.overallRate, ignoreCoordinatedOmission: true } : {}),
  });
  const ok = result['2xx'];
  return {
    driver: 'autocannon',
    offeredRate: opts.overallRate ?? null,
    connections: result.connections,
    durationS: opts.durationS,
    sent: result.requests.sent,
    ok,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0]),
    ),
    errors: result.errors + result.timeouts,
    throughput: Math.round((ok / result.duration) * 10) / 10,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
    },
  };
}
