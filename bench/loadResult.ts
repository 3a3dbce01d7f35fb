/** One request the load generators send over and over: the widget's token request. */
export interface TargetRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** What a load generator measured; latencies in milliseconds, over 2xx answers only. */
export interface LoadResult {
  driver: 'paced' | 'autocannon' | 'closed-loop';
  /** Requests per second asked for; null at saturation. */
  offeredRate: number | null;
  connections: number;
  durationS: number;
  /** Requests sent. */
  sent: number;
  /** 2xx answers. */
  ok: number;
  non2xx: number;
  /** Answers by HTTP status. */
  statusCodes: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  /** 2xx answers per second of the run. */
  throughput: number;
  latencyMs: LatencySummary;
}

/** Nearest-rank percentiles of latencies in milliseconds. */
export function summarizeLatencies(values: number[]): LatencySummary {
  if (values.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1] ?? NaN),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}
