import { summarizeLatencies, type LoadResult } from './loadResult';

/** One call of a load: resolves to an HTTP status (a completed workflow run counts as 200); a throw is an error. */
export type Call = () => Promise<number>;

interface Tally {
  latencies: number[];
  sent: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  errors: number;
}

const newTally = (): Tally => ({ latencies: [], sent: 0, non2xx: 0, statusCodes: {}, errors: 0 });

/** Makes one call, and counts its latency from `since` (when it was due, for an open loop). */
async function callOnce(call: Call, tally: Tally, since: number): Promise<void> {
  tally.sent++;
  try {
    const status = await call();
    tally.statusCodes[status] = (tally.statusCodes[status] ?? 0) + 1;
    if (status >= 200 && status < 300) tally.latencies.push(performance.now() - since);
    else tally.non2xx++;
  } catch {
    tally.errors++;
  }
}

function result(
  tally: Tally,
  shape: Pick<LoadResult, 'driver' | 'offeredRate' | 'connections' | 'durationS'>,
  wallS: number,
): LoadResult {
  return {
    ...shape,
    sent: tally.sent,
    ok: tally.latencies.length,
    non2xx: tally.non2xx,
    statusCodes: tally.statusCodes,
    errors: tally.errors,
    throughput: Math.round((tally.latencies.length / Math.max(wallS, shape.durationS)) * 10) / 10,
    latencyMs: summarizeLatencies(tally.latencies),
  };
}

/**
 * An open loop: call i is due at `i / rate` seconds and is made then, whether or not earlier calls have
 * returned, and its latency counts from when it was due, so a slow answer cannot hold back later calls and
 * hide its own cost (coordinated omission). `connections` is reported only: the caller bounds its own pool.
 */
export async function pacedCalls(call: Call, rate: number, durationS: number, connections = 0) {
  const tally = newTally();
  const total = Math.max(1, Math.round(rate * durationS));
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  const intervalMs = 1000 / rate;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (tally.sent < total && start + tally.sent * intervalMs <= now) {
        const done = callOnce(call, tally, start + tally.sent * intervalMs).finally(() =>
          inFlight.delete(done),
        );
        inFlight.add(done);
      }
      if (tally.sent >= total) resolve();
      else setTimeout(tick, Math.max(0, start + tally.sent * intervalMs - performance.now()));
    };
    tick();
  });
  const wallS = (performance.now() - start) / 1000;
  await Promise.all([...inFlight]);
  return result(tally, { driver: 'paced', offeredRate: rate, connections, durationS }, wallS);
}

/**
 * A closed loop: `connections` callers, each making its next call when the previous one has returned, for
 * `durationS`. Calls still in flight at the end are waited for but not counted, as autocannon does.
 */
export async function closedLoopCalls(call: Call, connections: number, durationS: number) {
  const tally = newTally();
  const start = performance.now();
  const until = start + durationS * 1000;
  const caller = async () => {
    while (performance.now() < until) {
      const before = performance.now();
      const one = newTally();
      await callOnce(call, one, before);
      if (performance.now() > until) break;
      tally.sent += one.sent;
      tally.non2xx += one.non2xx;
      tally.errors += one.errors;
      tally.latencies.push(...one.latencies);
      for (const [code, n] of Object.entries(one.statusCodes))
        tally.statusCodes[code] = (tally.statusCodes[code] ?? 0) + n;
    }
  };
  await Promise.all(Array.from({ length: connections }, caller));
  return result(tally, { driver: 'closed-loop', offeredRate: null, connections, durationS }, durationS);
}
