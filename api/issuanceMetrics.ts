import { Counter, type Registry } from 'prom-client';
import type { Issuer } from './issuer';
import type { Refresher } from './refresher';

/**
 * Counts issuances and refreshes by outcome and deny reason, by wrapping the issuer and the refresher, so the
 * routes stay about HTTP. `unavailable` counts the requests that got 503.
 */
export function countIssuances(
  registry: Registry,
  issuer: Issuer,
  refresher?: Refresher,
): { issuer: Issuer; refresher?: Refresher } {
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
    issuer: {
      createToken: (input, deadlineMs, options) =>
        count('create', () => issuer.createToken(input, deadlineMs, options)),
      ready: () => issuer.ready(),
    },
    ...(refresher
      ? {
          refresher: {
            refreshToken: (input, deadlineMs) =>
              count('refresh', () => refresher.refreshToken(input, deadlineMs)),
          },
        }
      : {}),
  };
}
