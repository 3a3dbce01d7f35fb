import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WEBCHAT_SECURITY_FLAG } from '../domain/contracts';
import { FAS_REJECTED_FAILURE, FINGERPRINT_FAILURE } from '../domain/failureTypes';
import type { TokenSteps } from '../domain/tokenSteps';
import { FingerprintError, generateFingerprint } from '../lib/fingerprint';
import type { AccountReader } from '../store/accountReader';
import { FasRejectedError, type FasClient } from './fasClient';

export interface ActivityDeps {
  /** The token path's one read of the store (an `AccountStore`; tests hand in a fake). */
  store: Pick<AccountReader, 'readByDeploymentKey'>;
  fas: Pick<FasClient, 'postToken' | 'postRefresh'>;
  fingerprintSecret: Uint8Array;
}

/**
 * The steps of an issuance, each an activity so it shows in the workflow's event history. Built from their
 * dependencies so tests can hand in fakes. Inputs and results are what history records: no raw secrets are
 * returned except the token itself, and the payload codec (lib/codec/) encrypts history.
 */
export function createActivities({ store, fas, fingerprintSecret }: ActivityDeps): TokenSteps {
  return {
    async loadAccount(deploymentKey) {
      const account = await store.readByDeploymentKey(deploymentKey, WEBCHAT_SECURITY_FLAG);
      return account && { config: account.config, security: account.flagEnabled };
    },

    generateFingerprint(signals, level) {
      try {
        return Promise.resolve(generateFingerprint(signals, level, fingerprintSecret));
      } catch (err) {
        if (err instanceof FingerprintError) {
          // The reason names the missing or malformed signal, never its value.
          throw ApplicationFailure.nonRetryable(err.message, FINGERPRINT_FAILURE, { reason: err.reason });
        }
        throw err;
      }
    },

    requestToken(accountSid, request, requestId) {
      return nonRetryableIfRejected(() =>
        fas.postToken(accountSid, request, requestId, cancellationSignal()),
      );
    },

    /** A refusal (`invalid_token`, `fingerprint_validation_failed`, `invalid_dpop_proof`) is a result; outages are retried. */
    refreshToken(accountSid, request, requestId) {
      return nonRetryableIfRejected(() =>
        fas.postRefresh(accountSid, request, requestId, cancellationSignal()),
      );
    },
  };
}

/** The steps of a token run (domain/tokenSteps.ts), as the worker registers them. */
export type Activities = TokenSteps;

/**
 * The running activity's cancellation signal: it aborts when the run is cancelled (the API gave up on it) or the
 * worker drops the run (it was terminated), so a FAS call for a run nobody waits for stops, and is not retried.
 * Undefined outside an activity (the direct path of the benchmark calls these functions in-process).
 */
function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** FAS refused the request itself (a 4xx): the same request cannot succeed, so Temporal must not retry it. */
async function nonRetryableIfRejected<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof FasRejectedError) {
      throw ApplicationFailure.nonRetryable(err.message, FAS_REJECTED_FAILURE, { status: err.status });
    }
    throw err;
  }
}
