import { log, patched, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import * as sa from '../domain/searchAttributes';
import type { RunObserver, TokenSteps } from '../domain/tokenSteps';
import { auth, fingerprinting, store } from './proxies';

/** The steps of a token run as local activities, each with the options of its kind (./proxies.ts). */
export const steps: TokenSteps = {
  resolveAccount: store.resolveAccount,
  fetchAccountConfig: store.fetchAccountConfig,
  readFeatureFlag: store.readFeatureFlag,
  generateFingerprint: fingerprinting.generateFingerprint,
  requestToken: auth.requestToken,
  refreshToken: auth.refreshToken,
};

/**
 * What a run reports, recorded where an operator looks: the account and flag, then the outcome and deny reason
 * in search attributes (the outcome `pending` is set at start), the UI's details line, and a log line. Never a
 * token, key or signal here: search attributes are not encrypted.
 */
export const observer: RunObserver = {
  accountLoaded(accountSid, security) {
    upsertSearchAttributes([
      { key: sa.AccountSid, value: accountSid },
      { key: sa.Security, value: security },
    ]);
  },
  finished(outcome, reason, details) {
    upsertSearchAttributes([
      { key: sa.Outcome, value: outcome },
      ...(reason ? [{ key: sa.DenyReason, value: reason }] : []),
    ]);
    setCurrentDetails(details);
    // The request id the API started the run with ties this line to the API's and the edge's lines.
    const requestId = workflowInfo().typedSearchAttributes.get(sa.RequestId);
    log.info('webchat token workflow finished', { outcome, reason, requestId });
  },
  applies: (change) => patched(change),
};
