import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../activities';
import {
  WEBCHAT_SECURITY_FLAG,
  type CreateWebchatTokenInput,
  type CreateWebchatTokenResult,
  type FingerprintSensitivity,
} from '../domain/contracts';
import { isOriginAllowed } from '../domain/cors';
import { AppError } from '../domain/errors';
import { FINGERPRINT_FAILURE } from '../domain/failureTypes';
import { deniedResult, fasTokenRequest, issuedResult } from '../domain/issuance';
import type { Logger } from '../lib/logger';
import type { Issuer } from './issuer';

const retryAfter = { 'Retry-After': '2' };

/**
 * The benchmark's baseline: the steps of `CreateWebchatToken` run in-process, without Temporal, over the same
 * activity code and the same decisions (`lib/issuance.ts`). It has none of the workflow's durability: no
 * retries, no history, nothing to see in the UI. A fault answers 503 at once, as a run that failed would.
 */
export function directIssuer(opts: { activities: Activities; logger: Logger }): Issuer {
  const { activities: act, logger: log } = opts;

  async function issue(input: CreateWebchatTokenInput): Promise<CreateWebchatTokenResult> {
    const accountSid = await act.resolveAccount(input.deploymentKey);
    if (accountSid === null) return deniedResult('invalid_deployment_key', null, [], input.origin);

    const config = await act.fetchAccountConfig(accountSid);
    if (!isOriginAllowed(config.allowedOrigins, input.origin)) {
      return deniedResult('origin_not_allowed', accountSid, config.allowedOrigins, input.origin);
    }
    const security = await act.readFeatureFlag(accountSid, WEBCHAT_SECURITY_FLAG);

    let fingerprint: { fingerprint: string; level: FingerprintSensitivity } | undefined;
    if (security) {
      try {
        fingerprint = await act.generateFingerprint(input.signals, config.fingerprintSensitivity);
      } catch (err) {
        if (err instanceof ApplicationFailure && err.type === FINGERPRINT_FAILURE) {
          return deniedResult(
            'fingerprint_generation_failed',
            accountSid,
            config.allowedOrigins,
            input.origin,
          );
        }
        throw err;
      }
    }

    const issued = await act.requestToken(accountSid, fasTokenRequest(config, fingerprint), input.requestId);
    return issuedResult(accountSid, issued, config.allowedOrigins, input.origin);
  }

  return {
    async createToken(input, deadlineMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlinePassed()), deadlineMs);
      });
      try {
        return await Promise.race([issue(input), deadline]);
      } catch (err) {
        if (err instanceof DeadlinePassed) {
          log.warn({ requestId: input.requestId, deadlineMs }, 'token request passed its deadline');
        } else {
          log.error({ requestId: input.requestId, err }, 'direct issuance failed');
        }
        throw new AppError('unavailable', 'Token issuance is temporarily unavailable.', retryAfter);
      } finally {
        clearTimeout(timer);
      }
    },
    ready: () => Promise.resolve(true),
  };
}

class DeadlinePassed extends Error {
  override readonly name = 'DeadlinePassed';
}
