import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import * as sa from '../domain/searchAttributes';
import type { RunObserver, TokenSteps } from '../domain/tokenSteps';
import { auth, fingerprinting, store } from './proxies';

/** The steps of a token run as local activities, each with the options of its kind (./proxies.ts). */
export const steps: TokenSteps = {
  loadAccount: store.loadAccount,
  generateFingerprint: fingerprinting.generateFingerprint,
  requestToken: auth.requestToken,
  refreshToken: auth.refreshToken,
};

/**
 * What a run reports, recorded where an operator looks: account, flag, outcome and deny reason in search
 * attributes, written in one upsert when the run ends (each upsert is a history event and a visibility write;
 * a run in flight has none yet, the UI's "Running" filter lists those), and the UI's details line. Nothing is
 * logged: a workflow's log line is a message out of the sandbox on every run, and the API logs every answer.
 * One per run, so nothing is shared between runs. Never a token, key or signal here: search attributes are not
 * encrypted.
 */
export function runObserver(): RunObserver {
  let account: { accountSid: string; security: boolean } | undefined;
  return {
    accountLoaded(accountSid, security) {
      account = { accountSid, security };
    },
    finished(outcome, reason, details) {
      upsertSearchAttributes([
        ...(account
          ? [
              { key: sa.AccountSid, value: account.accountSid },
              { key: sa.Security, value: account.security },
            ]
          : []),
        { key: sa.Outcome, value: outcome },
        ...(reason ? [{ key: sa.DenyReason, value: reason }] : []),
      ]);
      setCurrentDetails(details);
    },
  };
}
