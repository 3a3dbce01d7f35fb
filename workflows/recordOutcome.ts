import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import * as sa from '../domain/searchAttributes';
import type { LoadedAccount } from './loadAccount';

/**
 * Writes the run's search attributes (account, webchat-security flag, outcome, deny reason) in one upsert when
 * it ends, and the UI's details line, so an operator can filter and read each run. One upsert per run: each is a
 * history event and a visibility write (bench/README.md). A run still in flight has none of them yet; the UI's
 * "Running" filter (`ExecutionStatus="Running"`) lists those. Nothing is logged from here: a workflow's log
 * line is a message out of the sandbox on the hot path, and the API logs every answer. Never a token, key or
 * signal here: search attributes are not encrypted.
 */
export function recordOutcome(
  outcome: string,
  reason: string | null,
  details: string,
  account: Pick<LoadedAccount, 'accountSid' | 'security'> | null,
): void {
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
}
