import { log, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import * as sa from '../domain/searchAttributes';

/**
 * Completes the search attributes set at start (outcome, deny reason) and the UI's details line, so an
 * operator can filter and read each run. Never a token, key or signal here: search attributes are not encrypted.
 */
export function recordOutcome(outcome: string, reason: string | null, details: string): void {
  upsertSearchAttributes([
    { key: sa.Outcome, value: outcome },
    ...(reason ? [{ key: sa.DenyReason, value: reason }] : []),
  ]);
  setCurrentDetails(details);
  // The request id the API started the run with ties this line to the API's and the edge's lines.
  const requestId = workflowInfo().typedSearchAttributes.get(sa.RequestId);
  log.info('webchat token workflow finished', { outcome, reason, requestId });
}
