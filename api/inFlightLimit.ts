import { AppError } from '../domain/errors';
import type { Issuer } from './issuer';
import type { Refresher } from './refresher';

/**
 * Admission control: at most `max` token requests wait on Temporal at once; beyond that the answer is an
 * immediate 503 + Retry-After. Without it, a burst past the cluster's capacity makes every run finish late,
 * every client time out, and the server keep working on runs nobody waits for: goodput falls to zero.
 */
export function limitInFlight(
  max: number,
  issuer: Issuer,
  refresher?: Refresher,
): { issuer: Issuer; refresher?: Refresher } {
  let inFlight = 0;
  const admit = async <T>(run: () => Promise<T>): Promise<T> => {
    if (inFlight >= max) {
      throw new AppError('unavailable', 'Token issuance is busy; retry shortly.', { 'Retry-After': '1' });
    }
    inFlight++;
    try {
      return await run();
    } finally {
      inFlight--;
    }
  };
  return {
    issuer: {
      createToken: (input, deadlineMs, options) =>
        admit(() => issuer.createToken(input, deadlineMs, options)),
      ready: () => issuer.ready(),
    },
    ...(refresher
      ? {
          refresher: {
            refreshToken: (input, deadlineMs) => admit(() => refresher.refreshToken(input, deadlineMs)),
          },
        }
      : {}),
  };
}
