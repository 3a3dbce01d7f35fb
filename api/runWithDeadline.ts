import type { Workflow, WorkflowResultType } from '@temporalio/common';
import {
  type Client,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
  WorkflowFailedError,
} from '@temporalio/client';
import { AppError } from '../domain/errors';
import type { Logger } from '../lib/logger';
import { rejectOnAbort } from './rejectOnAbort';

const retryAfter = { 'Retry-After': '2' };

/**
 * Starts a workflow and waits for its result, bounded by the deadline. Past the deadline, or when Temporal or
 * the run fails, the caller gets `AppError('unavailable')` (503 + Retry-After), never a hang; a run that was
 * started is cancelled so that nothing is minted for a client that was told 503.
 */
export async function runWithDeadline<W extends Workflow>(
  client: Client,
  workflowId: string,
  deadlineMs: number,
  log: Logger,
  start: (client: Client) => Promise<WorkflowHandle<W>>,
  /** False when a retry will come for the same run (an idempotency key): then it must go on. */
  cancelOnDeadline = true,
): Promise<WorkflowResultType<W>> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), deadlineMs);
  /** The run this call started: the deadline cancels exactly that run, never a later one with the same id. */
  let runId: string | undefined;
  const cancelQuietly = (): void => {
    if (runId === undefined) return;
    client.workflow
      .getHandle(workflowId, runId)
      .cancel()
      .catch((e: unknown) =>
        log.warn({ workflowId, runId, err: e }, 'could not cancel a timed-out workflow'),
      );
  };
  try {
    const run = client.withAbortSignal(abort.signal, async () => {
      const handle = await start(client);
      // A run this call started has its run id; a handle found by id alone (an idempotent retry) has none.
      runId = (handle as Partial<WorkflowHandleWithFirstExecutionRunId>).firstExecutionRunId;
      // Started only after the deadline answered 503 (the race below): nobody waits for this run now.
      if (abort.signal.aborted && cancelOnDeadline) cancelQuietly();
      return handle.result();
    });
    return await Promise.race([run, rejectOnAbort(abort.signal)]);
  } catch (err) {
    if (abort.signal.aborted) {
      log.warn({ workflowId, runId, deadlineMs }, 'request passed its deadline');
      if (cancelOnDeadline) cancelQuietly();
    } else if (err instanceof WorkflowFailedError) {
      log.error({ workflowId, err: err.cause }, 'workflow failed');
    } else {
      log.error({ workflowId, err }, 'could not run the workflow');
    }
    throw new AppError('unavailable', 'Token issuance is temporarily unavailable.', retryAfter);
  } finally {
    clearTimeout(timer);
  }
}
