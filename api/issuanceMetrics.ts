import { Counter, type Registry } from 'prom-client';
import type { TokenRuns } from './tokenRuns';

/**
 * Counts issuances and refreshes by outcome and deny reason, by wrapping the token runs, so the routes stay
 * about HTTP. `unavailable` counts the requests that got 503.
 */
export function countIssuances(registry: Registry, runs: TokenRuns): TokenRuns {
  const counter = new Counter({
    name: 'webchat_token_requests_total',
    help: 'Token issuances and refreshes by kind, outcome and deny reason.',
    labelNames: ['kind', 'outcome', 'reason'],
    registers: [registry],
  });
  const count = async <T extends { outcome: string; reason?: string; code?: string }>(
    kind: string,
    run: () => Promise<T>,
  ): Promise<T> => {
    try {
      const result = await run();
      counter.inc({ kind, outcome: result.outcome, reason: result.reason ?? result.code ?? '' });
      return result;
    } catch (err) {
      counter.inc({ kind, outcome: 'unavailable', reason: '' });
      throw err;
    }
  };
  return {
    runCreate: (input, deadlineMs, options) =>
      count('create', () => runs.runCreate(input, deadlineMs, options)),
    runRefresh: (input, deadlineMs) => count('refresh', () => runs.runRefresh(input, deadlineMs)),
    ready: () => runs.ready(),
  };
}
