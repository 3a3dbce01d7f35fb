import { AppError } from '../domain/errors';
import type { TokenRuns } from './tokenRuns';

/**
 * Admission control: at most `max` token requests wait on Temporal at once; beyond that the answer is an
 * immediate 503 + Retry-After. Without it, a burst past the cluster's capacity makes every run finish late,
 * every client time out, and the server keep working on runs nobody waits for: goodput falls to zero.
 */
export function limitInFlight(max: number, runs: TokenRuns): TokenRuns {
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
    runCreate: (input, deadlineMs, options) => admit(() => runs.runCreate(input, deadlineMs, options)),
    runRefresh: (input, deadlineMs) => admit(() => runs.runRefresh(input, deadlineMs)),
    ready: () => runs.ready(),
  };
}
