import type { Activities } from '../activities';
import { createWebchatToken } from '../domain/createWebchatToken';
import { AppError } from '../domain/errors';
import { refreshWebchatToken } from '../domain/refreshWebchatToken';
import { unobserved, type TokenSteps } from '../domain/tokenSteps';
import type { TokenRuns } from '../api/tokenRuns';
import type { Logger } from '../lib/logger';

const retryAfter = { 'Retry-After': '2' };

/**
 * The benchmark's baseline: the decisions of `CreateWebchatToken` and `RefreshWebchatToken`
 * (domain/createWebchatToken.ts, domain/refreshWebchatToken.ts) run in-process over the activity functions
 * themselves, without Temporal. It has none of the workflow's durability: no retries, no history, nothing to
 * see in the UI. A fault answers 503 at once, as a run that failed would.
 */
export function directTokenRuns(opts: { activities: Activities; logger: Logger }): TokenRuns {
  const steps: TokenSteps = opts.activities;
  const log = opts.logger;

  const withDeadline = async <T>(
    requestId: string,
    deadlineMs: number,
    run: () => Promise<T>,
  ): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlinePassed()), deadlineMs);
    });
    try {
      return await Promise.race([run(), deadline]);
    } catch (err) {
      if (err instanceof DeadlinePassed) {
        log.warn({ requestId, deadlineMs }, 'token request passed its deadline');
      } else {
        log.error({ requestId, err }, 'direct token run failed');
      }
      throw new AppError('unavailable', 'Token issuance is temporarily unavailable.', retryAfter);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    runCreate: (input, deadlineMs) =>
      withDeadline(input.requestId, deadlineMs, () => createWebchatToken(input, steps, unobserved)),
    runRefresh: (input, deadlineMs) =>
      withDeadline(input.requestId, deadlineMs, () => refreshWebchatToken(input, steps, unobserved)),
    ready: () => Promise.resolve(true),
  };
}

class DeadlinePassed extends Error {
  override readonly name = 'DeadlinePassed';
}
